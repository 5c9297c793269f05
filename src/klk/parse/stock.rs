use std::collections::HashMap;

use serde_json::Value;

use super::envelope::ElementSink;
use super::fields::{self, Object};
use crate::klk::error::LineError;
use crate::klk::model::{StockItem, Warehouse};

/// Converts one element of `articulos` to a [`StockItem`] of warehouse `almacen`.
pub fn stock_item_from_value(almacen: &str, element: &Value) -> Result<StockItem, LineError> {
    let Value::Object(article) = element else {
        return Err(LineError {
            index: 0,
            identity: None,
            reason: "an article should be a JSON object".to_owned(),
        });
    };
    stock_item_from_object(almacen, article).map_err(|reason| LineError {
        index: 0,
        identity: fields::opt_text(article, "Codigo")
            .ok()
            .flatten()
            .map(|codigo| format!("article {codigo}")),
        reason,
    })
}

fn stock_item_from_object(almacen: &str, article: &Object) -> Result<StockItem, String> {
    Ok(StockItem {
        codigo_almacen: almacen.to_owned(),
        codigo: fields::text(article, "Codigo")?,
        nombre_producto: fields::opt_text(article, "NombreProducto")?,
        barra: fields::opt_text(article, "Barra")?,
        categoria: fields::opt_text(article, "Categoria")?,
        descripcion: fields::opt_text(article, "Descripcion")?,
        subcategoria: fields::opt_text(article, "Subcategoria")?,
        descripcion_categoria: fields::opt_text(article, "Descripcion_categoria")?,
        marca: fields::opt_text(article, "Marca")?,
        precio: fields::opt_f64(article, "Precio")?,
        iva: fields::opt_f64(article, "Iva")?,
        stock: fields::f64_field(article, "stock")?,
    })
}

/// Collects articles unique on `Codigo` (a later copy replaces the earlier one in place).
pub(crate) struct StockCollector {
    almacen: String,
    pub items: Vec<StockItem>,
    pub duplicates_removed: usize,
    pub conflicting_duplicates: usize,
    position_by_codigo: HashMap<String, usize>,
}

impl StockCollector {
    pub fn new(almacen: &str) -> Self {
        Self {
            almacen: almacen.to_owned(),
            items: Vec::new(),
            duplicates_removed: 0,
            conflicting_duplicates: 0,
            position_by_codigo: HashMap::new(),
        }
    }
}

impl ElementSink for StockCollector {
    fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError> {
        let item = stock_item_from_value(&self.almacen, &element)
            .map_err(|error| LineError { index, ..error })?;
        match self.position_by_codigo.get(&item.codigo) {
            Some(&position) => {
                self.duplicates_removed += 1;
                if self.items[position] != item {
                    self.conflicting_duplicates += 1;
                }
                self.items[position] = item;
            }
            None => {
                self.position_by_codigo
                    .insert(item.codigo.clone(), self.items.len());
                self.items.push(item);
            }
        }
        Ok(())
    }
}

/// Collects the rows of `GET /maestra/almacenes/...`.
#[derive(Default)]
pub(crate) struct WarehouseCollector {
    pub warehouses: Vec<Warehouse>,
}

impl ElementSink for WarehouseCollector {
    fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError> {
        let rejection = |reason: String| LineError {
            index,
            identity: None,
            reason,
        };
        let Value::Object(row) = element else {
            return Err(rejection("a warehouse should be a JSON object".to_owned()));
        };
        let warehouse = Warehouse {
            codigo_sucursal: fields::text(&row, "CodigoSucursal").map_err(rejection)?,
            nombre_sucursal: fields::opt_text(&row, "NombreSucursal").map_err(rejection)?,
            codigo_almacen: fields::text(&row, "CodigoAlmacen").map_err(rejection)?,
            nombre_almacen: fields::opt_text(&row, "NombreAlmacen").map_err(rejection)?,
        };
        self.warehouses.push(warehouse);
        Ok(())
    }
}
