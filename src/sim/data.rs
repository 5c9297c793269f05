//! The simulator's synthetic data, a pure function of [`SimData`].
//!
//! - Sales are generated per (seed, store, date, minute of day): a window's lines are the
//!   union of its minutes' lines, filtered to the window's exact bounds, so any split of a
//!   window into smaller windows yields exactly the same lines.
//! - Invoices are multi-line, all lines of one invoice share one instant inside one minute.
//! - The article master is a function of (seed, article number); stock of (seed,
//!   warehouse, article number).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;

use super::options::{SimData, SimStore};
use super::rng::{DetRng, hash_text};

const MINUTES_PER_DAY: u32 = 24 * 60;
/// Relative sales per hour of day (0..23); normalised to a mean of 1 where used.
const HOURLY_WEIGHT: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.1, 1.3, 1.5, 1.6, 1.7, 1.6, 1.4, 1.3, 1.4, 1.6, 1.8,
    1.7, 1.4, 1.0, 0.7, 0.5,
];
/// About one line in this many is sent twice in a response (the API's known habit).
const DUPLICATE_ONE_IN: u64 = 150;
const REGISTERS: i64 = 12;

// ---------------------------------------------------------------------------------------
// Article master and stock

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Article {
    pub codigo: String,
    pub nombre: String,
    pub barra: String,
    pub marca: Brand,
    pub grupo: &'static str,
    pub categoria: &'static str,
    pub subgrupo: &'static str,
    pub categoria_codigo: u32,
    pub subcategoria_codigo: u32,
    pub precio_usd: f64,
    pub iva: f64,
    pub weighed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Brand {
    Named(&'static str),
    NotAvailable,
    Missing,
}

const NOUNS: [&str; 30] = [
    "ARROZ",
    "HARINA DE MAIZ",
    "ACEITE",
    "AZUCAR",
    "CAFE",
    "LECHE",
    "QUESO",
    "JAMON",
    "PASTA",
    "SALSA DE TOMATE",
    "GALLETAS",
    "JABON",
    "DETERGENTE",
    "PAPEL HIGIENICO",
    "REFRESCO",
    "JUGO",
    "NECTAR",
    "MANTEQUILLA",
    "MAYONESA",
    "ATUN",
    "SARDINAS",
    "CARAOTAS",
    "LENTEJAS",
    "AVENA",
    "CEREAL",
    "CHOCOLATE",
    "HUEVOS",
    "POLLO",
    "CARNE MOLIDA",
    "PAN",
];
const VARIANTS: [&str; 9] = [
    "",
    "PREMIUM",
    "LIGHT",
    "TRADICIONAL",
    "INTEGRAL",
    "DE PERA",
    "DE DURAZNO",
    "CLASICO",
    "EXTRA",
];
const SIZES: [&str; 9] = [
    "1KG", "500GR", "1LT", "2LT", "250ML", "400GR", "6UND", "UND", "KG",
];
const BRANDS: [&str; 12] = [
    "NATULAC", "POLAR", "MAVESA", "PAMPERO", "NESTLE", "KELLOGGS", "PLUMROSE", "ALPINA", "PRIMOR",
    "MARY", "COLGATE", "PROTEX",
];
const CATEGORIES: [(&str, &str, &str); 8] = [
    ("BEBIDAS", "NECTARES Y JUGOS", "NECTAR DE FRUTA"),
    ("BEBIDAS", "REFRESCOS", "GASEOSAS"),
    ("VIVERES", "GRANOS", "LEGUMBRES"),
    ("VIVERES", "HARINAS", "HARINA PRECOCIDA"),
    ("CHARCUTERIA", "QUESOS", "QUESOS MADURADOS"),
    ("CHARCUTERIA", "EMBUTIDOS", "JAMONES"),
    ("LIMPIEZA", "DETERGENTES", "EN POLVO"),
    ("CUIDADO PERSONAL", "JABONES", "DE TOCADOR"),
];

pub(crate) fn article(seed: u64, number: u32) -> Article {
    let mut rng = DetRng::for_cell(&[seed, 0xA271, u64::from(number)]);
    let noun = rng.pick(&NOUNS);
    let variant = rng.pick(&VARIANTS);
    let size = rng.pick(&SIZES);
    let weighed = size == "KG";
    let nombre = [noun, variant, size]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let marca = match rng.below(20) {
        0 | 1 => Brand::NotAvailable,
        2 => Brand::Missing,
        _ => Brand::Named(rng.pick(&BRANDS)),
    };
    let category_index = rng.below(CATEGORIES.len() as u64) as usize;
    let (grupo, categoria, subgrupo) = CATEGORIES[category_index];
    let barra = match rng.below(10) {
        0 => String::new(),
        1 => format!("{:05}", rng.below(100_000)),
        _ => format!("759{:010}", rng.below(10_000_000_000)),
    };
    Article {
        codigo: format!("{number:06}"),
        nombre,
        barra,
        marca,
        grupo,
        categoria,
        subgrupo,
        categoria_codigo: category_index as u32 + 1,
        subcategoria_codigo: rng.below(9) as u32 + 1,
        precio_usd: round_to(0.25 + rng.unit() * 24.0, 2),
        iva: if rng.chance(0.3) { 0.0 } else { 16.0 },
        weighed,
    }
}

/// Stock of an article in a warehouse: mostly positive, some zero, some negative; weighed
/// articles have fractional stock.
pub(crate) fn stock_of(seed: u64, almacen: &str, number: u32) -> f64 {
    let mut rng = DetRng::for_cell(&[seed, 0x5707, hash_text(almacen), u64::from(number)]);
    let weighed = article(seed, number).weighed;
    let magnitude = match rng.below(20) {
        0 | 1 => 0.0,
        2 | 3 => -(1.0 + rng.unit() * 30.0),
        _ => rng.unit() * 250.0,
    };
    if weighed {
        round_to(magnitude, 3)
    } else {
        magnitude.trunc()
    }
}

/// One row of `POST /maestra/articulos/almacen`, in the vendor's field names.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WireArticle {
    #[serde(rename = "NombreProducto")]
    nombre_producto: String,
    #[serde(rename = "Codigo")]
    codigo: String,
    #[serde(rename = "Barra")]
    barra: String,
    #[serde(rename = "Categoria")]
    categoria: String,
    #[serde(rename = "Descripcion")]
    descripcion: String,
    #[serde(rename = "Subcategoria")]
    subcategoria: String,
    #[serde(rename = "Descripcion_categoria")]
    descripcion_categoria: String,
    #[serde(rename = "Marca", skip_serializing_if = "Option::is_none")]
    marca: Option<String>,
    #[serde(rename = "Precio")]
    precio: f64,
    #[serde(rename = "Iva")]
    iva: f64,
    pub stock: f64,
}

pub(crate) fn warehouse_articles(data: &SimData, almacen: &str) -> Vec<WireArticle> {
    (1..=data.articles_per_warehouse)
        .map(|number| {
            let article = article(data.seed, number);
            WireArticle {
                nombre_producto: article.nombre,
                codigo: article.codigo,
                barra: article.barra,
                categoria: article.categoria_codigo.to_string(),
                descripcion: if number % 7 == 0 {
                    "N/A".to_owned()
                } else {
                    article.subgrupo.to_owned()
                },
                subcategoria: article.subcategoria_codigo.to_string(),
                descripcion_categoria: article.categoria.to_owned(),
                marca: match article.marca {
                    Brand::Named(name) => Some(name.to_owned()),
                    Brand::NotAvailable => Some("N/A".to_owned()),
                    Brand::Missing => None,
                },
                precio: article.precio_usd,
                iva: article.iva,
                stock: stock_of(data.seed, almacen, number),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Sales

/// One sales line as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireSalesLine {
    pub numero_factura: String,
    pub linea: i64,
    pub fecha: String,
    pub hora: String,
    pub fecha_hora_completa: String,
    pub producto: Vec<WireProducto>,
    pub cantidad: Vec<WireCantidad>,
    pub financiero: Vec<WireFinanciero>,
    pub total_factura: f64,
    pub tasa_usd: f64,
    pub es_no_fiscal: bool,
    pub tiene_promocion: String,
    pub codigo_promocion: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireProducto {
    pub codigo_producto: String,
    pub descripcion_producto: String,
    pub marca_producto: String,
    pub modelo_producto: String,
    pub categoria_producto: String,
    pub grupo_articulo: String,
    pub subgrupo_producto: String,
    pub codigo_barras: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireCantidad {
    pub codigo_almacen: String,
    pub nombre_almacen: String,
    pub cantidad_vendida: f64,
    pub peso_unitario: f64,
    pub unidad_medida_venta: String,
    pub factor_unidad_medida: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireFinanciero {
    pub costo_unitario_bs: f64,
    pub costo_unitario_usd: f64,
    pub precio_unitario_bs: f64,
    pub precio_unitario_usd: f64,
    pub impuesto_porcentaje: f64,
    pub impuesto_monto: f64,
    pub porcentaje_descuento: f64,
    pub monto_descuento: f64,
    pub venta_total_bs: f64,
    pub venta_total_usd: f64,
    pub costo_total_bs: f64,
    pub costo_total_usd: f64,
    pub utilidad_bruta_bs: f64,
    pub utilidad_bruta_usd: f64,
}

/// A generated line with what the server filters on.
#[derive(Debug, Clone)]
pub(crate) struct GeneratedLine {
    /// `fecha` + `hora` to the microsecond, as the client keeps it (orders the lines).
    pub at: NaiveDateTime,
    /// `fecha` + `hora` at full precision (all 7 digits): what windows are cut on.
    pub exact: NaiveDateTime,
    pub wire: WireSalesLine,
    /// The API sends this line twice.
    pub duplicated: bool,
}

impl GeneratedLine {
    pub fn codigo_almacen(&self) -> &str {
        self.wire
            .cantidad
            .first()
            .map(|cantidad| cantidad.codigo_almacen.as_str())
            .unwrap_or_default()
    }

    pub fn codigo_producto(&self) -> &str {
        self.wire
            .producto
            .first()
            .map(|producto| producto.codigo_producto.as_str())
            .unwrap_or_default()
    }
}

/// Bolívares per dollar on `date`: drifts up about 0.1 % a day.
pub(crate) fn tasa_usd(date: NaiveDate) -> f64 {
    let days = f64::from(date.num_days_from_ce() - 738_886); // days since 2024-01-01
    round_to(36.0 * 1.001_f64.powf(days), 2)
}

/// Every line of `store` with `from <= exact < to` (full precision), in time order, with
/// the duplicates flagged; with `edge_lines`, the edge lines too.
pub(crate) fn lines_between(
    data: &SimData,
    store: &SimStore,
    edge_lines: bool,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<GeneratedLine> {
    let mut lines = Vec::new();
    let mut date = from.date();
    while date <= to.date() {
        let first_minute = if date == from.date() {
            from.time().num_seconds_from_midnight() / 60
        } else {
            0
        };
        let end_minute = if date == to.date() {
            let started_second = u32::from(to.time().nanosecond() > 0);
            (to.time().num_seconds_from_midnight() + started_second).div_ceil(60)
        } else {
            MINUTES_PER_DAY
        };
        for minute in first_minute..end_minute {
            lines.extend(
                minute_lines(data, store, edge_lines, date, minute)
                    .into_iter()
                    .filter(|line| line.exact >= from && line.exact < to),
            );
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    lines
}

/// The lines of one store in one minute of one day.
pub(crate) fn minute_lines(
    data: &SimData,
    store: &SimStore,
    edge_lines: bool,
    date: NaiveDate,
    minute: u32,
) -> Vec<GeneratedLine> {
    let cell = [
        data.seed,
        0x5A1E,
        hash_text(&store.sucursal),
        date.num_days_from_ce() as u64,
        u64::from(minute),
    ];
    let mut rng = DetRng::for_cell(&cell);
    let mean_weight = HOURLY_WEIGHT.iter().sum::<f64>() / 24.0;
    let hour_weight = HOURLY_WEIGHT[(minute / 60) as usize % 24] / mean_weight;
    let expected =
        f64::from(data.lines_per_hour) * store.volume_multiplier.max(0.0) * hour_weight / 60.0;
    let mut remaining = expected.trunc() as u64 + u64::from(rng.chance(expected.fract()));

    let tasa = tasa_usd(date);
    let mut lines = Vec::with_capacity(remaining as usize);
    let mut invoice_index = 0;
    while remaining > 0 {
        let size = invoice_size(&mut rng).min(remaining);
        remaining -= size;
        lines.extend(invoice(
            data,
            store,
            date,
            minute,
            invoice_index,
            size,
            tasa,
            &mut rng,
        ));
        invoice_index += 1;
    }
    if edge_lines {
        lines.extend(minute_edge_lines(data, store, date, minute, tasa));
    }
    lines.sort_by_key(|line| line.at);
    lines
}

fn invoice_size(rng: &mut DetRng) -> u64 {
    match rng.below(10) {
        0..=2 => 1,
        3..=4 => 2,
        5..=6 => 3,
        7 => 4,
        8 => 6,
        _ => 9,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one invoice needs its whole context"
)]
fn invoice(
    data: &SimData,
    store: &SimStore,
    date: NaiveDate,
    minute: u32,
    invoice_index: u32,
    size: u64,
    tasa: f64,
    rng: &mut DetRng,
) -> Vec<GeneratedLine> {
    let register = rng.between(1, REGISTERS);
    let second = rng.below(60) as u32;
    let fraction_digits = rng.below(8) as u32;
    let fraction = rng.below(10u64.pow(fraction_digits));
    let nanos = (fraction * 10u64.pow(9 - fraction_digits)) as u32;
    let hora_text = |time: NaiveTime| {
        if fraction_digits == 0 {
            time.format("%H:%M:%S").to_string()
        } else {
            format!(
                "{}.{fraction:0width$}",
                time.format("%H:%M:%S"),
                width = fraction_digits as usize
            )
        }
    };
    let exact = NaiveTime::from_num_seconds_from_midnight_opt(minute * 60 + second, nanos)
        .unwrap_or(NaiveTime::MIN);
    let numero_factura = format!(
        "C{register:02}-{}-{minute:04}{invoice_index:03}",
        date.format("%y%m%d")
    );
    let es_no_fiscal = rng.chance(0.02);
    let promotion = rng
        .chance(0.05)
        .then(|| format!("PRM-{:03}", rng.below(40)));
    let head = InvoiceHead {
        date,
        exact,
        hora: hora_text(exact),
        numero_factura,
        tasa,
        es_no_fiscal,
        promotion,
    };
    let mut lines: Vec<GeneratedLine> = (1..=size as i64)
        .map(|linea| sales_line(data, store, &head, linea, rng))
        .collect();
    set_total_factura(&mut lines);
    lines
}

/// What the lines of one invoice share.
struct InvoiceHead {
    date: NaiveDate,
    /// The invoice's instant at full precision.
    exact: NaiveTime,
    hora: String,
    numero_factura: String,
    tasa: f64,
    es_no_fiscal: bool,
    promotion: Option<String>,
}

/// One line of an invoice (`total_factura` left at 0: see [`set_total_factura`]).
fn sales_line(
    data: &SimData,
    store: &SimStore,
    head: &InvoiceHead,
    linea: i64,
    rng: &mut DetRng,
) -> GeneratedLine {
    let date = head.date;
    let tasa = head.tasa;
    // The client keeps `hora` to the microsecond.
    let time = head
        .exact
        .with_nanosecond(head.exact.nanosecond() / 1_000 * 1_000)
        .unwrap_or(head.exact);
    let article = article(
        data.seed,
        rng.below(u64::from(data.articles_per_warehouse)) as u32 + 1,
    );
    let (codigo_almacen, nombre_almacen) = pick_warehouse(store, rng);
    let cantidad_vendida = if article.weighed {
        round_to(0.1 + rng.unit() * 2.4, 3)
    } else {
        let most = if rng.chance(0.8) { 1 } else { 6 };
        rng.between(1, most) as f64
    };
    let porcentaje_descuento = if rng.chance(0.05) { 10.0 } else { 0.0 };
    let bruto_usd = article.precio_usd * cantidad_vendida;
    let monto_descuento_usd = bruto_usd * porcentaje_descuento / 100.0;
    let venta_total_usd = round_to(bruto_usd - monto_descuento_usd, 2);
    let venta_total_bs = round_to(venta_total_usd * tasa, 2);
    let costo_unitario_usd = round_to(article.precio_usd * (0.7 + rng.unit() * 0.25), 6);
    let costo_total_usd = round_to(costo_unitario_usd * cantidad_vendida, 6);
    let costo_total_bs = round_to(costo_total_usd * tasa, 2);
    GeneratedLine {
        at: date.and_time(time),
        exact: date.and_time(head.exact),
        duplicated: rng.below(DUPLICATE_ONE_IN) == 0,
        wire: WireSalesLine {
            numero_factura: head.numero_factura.clone(),
            linea,
            fecha: date.format("%Y-%m-%d").to_string(),
            hora: head.hora.clone(),
            fecha_hora_completa: date.and_time(time).format("%Y-%m-%dT%H:%M:%S").to_string(),
            producto: vec![WireProducto {
                codigo_producto: article.codigo.clone(),
                descripcion_producto: article.nombre.clone(),
                marca_producto: match article.marca {
                    Brand::Named(name) => name.to_owned(),
                    Brand::NotAvailable | Brand::Missing => String::new(),
                },
                modelo_producto: String::new(),
                categoria_producto: article.categoria.to_owned(),
                grupo_articulo: article.grupo.to_owned(),
                subgrupo_producto: article.subgrupo.to_owned(),
                codigo_barras: article.barra.clone(),
            }],
            cantidad: vec![WireCantidad {
                codigo_almacen,
                nombre_almacen,
                cantidad_vendida,
                peso_unitario: if article.weighed {
                    cantidad_vendida
                } else {
                    0.0
                },
                unidad_medida_venta: if article.weighed {
                    "KILOGRAMO"
                } else {
                    "UNIDAD"
                }
                .to_owned(),
                factor_unidad_medida: 1.0,
            }],
            financiero: vec![WireFinanciero {
                costo_unitario_bs: round_to(costo_unitario_usd * tasa, 2),
                costo_unitario_usd,
                precio_unitario_bs: round_to(article.precio_usd * tasa, 2),
                precio_unitario_usd: article.precio_usd,
                impuesto_porcentaje: article.iva,
                impuesto_monto: round_to(venta_total_bs * article.iva / 100.0, 3),
                porcentaje_descuento,
                monto_descuento: round_to(monto_descuento_usd * tasa, 2),
                venta_total_bs,
                venta_total_usd,
                costo_total_bs,
                costo_total_usd,
                utilidad_bruta_bs: round_to(venta_total_bs - costo_total_bs, 2),
                utilidad_bruta_usd: round_to(venta_total_usd - costo_total_usd, 6),
            }],
            total_factura: 0.0,
            tasa_usd: tasa,
            es_no_fiscal: head.es_no_fiscal,
            tiene_promocion: if head.promotion.is_some() { "S" } else { "" }.to_owned(),
            codigo_promocion: head.promotion.clone().unwrap_or_default(),
        },
    }
}

/// `total_factura` of every line of one invoice: its lines' sales plus tax, in bolívares.
fn set_total_factura(lines: &mut [GeneratedLine]) {
    let total_factura = round_to(
        lines
            .iter()
            .flat_map(|line| &line.wire.financiero)
            .map(|money| money.venta_total_bs + money.impuesto_monto)
            .sum(),
        2,
    );
    for line in lines {
        line.wire.total_factura = total_factura;
    }
}

// ---------------------------------------------------------------------------------------
// Edge lines (`SimQuirks::edge_lines`)

/// Invoice numbers of edge lines start with this; generated invoices start with `C`.
pub(crate) const EDGE_INVOICE_PREFIX: &str = "EDGE-";
const EDGE_EVERY_MINUTES: u32 = 15;
/// The instants of the last minute that hold an edge line: `hora` as sent, nanoseconds.
const LAST_MINUTE_EDGES: [(&str, u32); 2] = [
    ("23:59:59.8", 800_000_000),
    ("23:59:59.9999999", 999_999_900),
];

/// The edge lines of one store in one minute: a one-line invoice at `HH:MM:00.0000000`
/// when the minute starts a quarter hour, and the two late ones in the day's last minute.
fn minute_edge_lines(
    data: &SimData,
    store: &SimStore,
    date: NaiveDate,
    minute: u32,
    tasa: f64,
) -> Vec<GeneratedLine> {
    let mut instants: Vec<(String, NaiveTime)> = Vec::new();
    if minute.is_multiple_of(EDGE_EVERY_MINUTES) {
        let time =
            NaiveTime::from_num_seconds_from_midnight_opt(minute * 60, 0).unwrap_or(NaiveTime::MIN);
        instants.push((format!("{}.0000000", time.format("%H:%M:%S")), time));
    }
    if minute == MINUTES_PER_DAY - 1 {
        for (hora, nanos) in LAST_MINUTE_EDGES {
            if let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(86_399, nanos) {
                instants.push((hora.to_owned(), time));
            }
        }
    }
    instants
        .into_iter()
        .map(|(hora, exact)| {
            let nanos_of_day = u64::from(exact.num_seconds_from_midnight()) * 1_000_000_000
                + u64::from(exact.nanosecond());
            let mut rng = DetRng::for_cell(&[
                data.seed,
                0xED6E,
                hash_text(&store.sucursal),
                date.num_days_from_ce() as u64,
                nanos_of_day,
            ]);
            let head = InvoiceHead {
                date,
                exact,
                numero_factura: format!(
                    "{EDGE_INVOICE_PREFIX}{}-{}",
                    date.format("%y%m%d"),
                    hora.replace(':', "")
                ),
                hora,
                tasa,
                es_no_fiscal: false,
                promotion: None,
            };
            let mut line = sales_line(data, store, &head, 1, &mut rng);
            line.duplicated = false;
            set_total_factura(std::slice::from_mut(&mut line));
            line
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Changed lines (the `change` fault)

/// The lines of `store` with `from <= exact < to` as a `change` rule serves them: one more
/// unit sold (`cantidad_vendida` + 1, weight too for weighed articles), sales, discount, tax
/// and cost recomputed from the unit prices, profit and `total_factura` following. An
/// invoice's lines share one instant, so a window changes whole invoices.
pub(crate) fn changed_lines(
    data: &SimData,
    store: &SimStore,
    edge_lines: bool,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<GeneratedLine> {
    let mut lines = lines_between(data, store, edge_lines, from, to);
    for line in &mut lines {
        change_line(&mut line.wire);
    }
    let mut start = 0;
    while start < lines.len() {
        let invoice = &lines[start].wire.numero_factura;
        let len = lines[start..]
            .iter()
            .take_while(|line| line.wire.numero_factura == *invoice)
            .count();
        set_total_factura(&mut lines[start..start + len]);
        start += len;
    }
    lines
}

fn change_line(wire: &mut WireSalesLine) {
    let tasa = wire.tasa_usd;
    for cantidad in &mut wire.cantidad {
        cantidad.cantidad_vendida += 1.0;
        if cantidad.peso_unitario != 0.0 {
            cantidad.peso_unitario = cantidad.cantidad_vendida;
        }
    }
    let quantity = wire
        .cantidad
        .first()
        .map_or(1.0, |cantidad| cantidad.cantidad_vendida);
    for money in &mut wire.financiero {
        let bruto_usd = money.precio_unitario_usd * quantity;
        let monto_descuento_usd = bruto_usd * money.porcentaje_descuento / 100.0;
        money.venta_total_usd = round_to(bruto_usd - monto_descuento_usd, 2);
        money.venta_total_bs = round_to(money.venta_total_usd * tasa, 2);
        money.monto_descuento = round_to(monto_descuento_usd * tasa, 2);
        money.impuesto_monto =
            round_to(money.venta_total_bs * money.impuesto_porcentaje / 100.0, 3);
        money.costo_total_usd = round_to(money.costo_unitario_usd * quantity, 6);
        money.costo_total_bs = round_to(money.costo_total_usd * tasa, 2);
        money.utilidad_bruta_bs = round_to(money.venta_total_bs - money.costo_total_bs, 2);
        money.utilidad_bruta_usd = round_to(money.venta_total_usd - money.costo_total_usd, 6);
    }
}

fn pick_warehouse(store: &SimStore, rng: &mut DetRng) -> (String, String) {
    let on_floor = rng.chance(0.85);
    let index = match store.warehouses.len() {
        0 => return ("SIN-ALMACEN".to_owned(), "SIN ALMACEN".to_owned()),
        1 => 0,
        _ if on_floor => 0,
        count => 1 + rng.below(count as u64 - 1) as usize,
    };
    let codigo = store.warehouses[index].clone();
    let nombre = if index == 0 {
        "PISO DE VENTA".to_owned()
    } else {
        format!("DEPOSITO {codigo}")
    };
    (codigo, nombre)
}

pub(crate) fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, time: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn minutes_compose_into_windows() {
        let data = SimData::default();
        let store = &data.stores[0];
        for edge_lines in [false, true] {
            let lines = |from: &str, to: &str| {
                lines_between(
                    &data,
                    store,
                    edge_lines,
                    at("2025-11-17", from),
                    at("2025-11-17", to),
                )
            };
            let whole = lines("11:00:00", "13:00:00");
            let first = lines("11:00:00", "12:07:31");
            let second = lines("12:07:31", "13:00:00");
            assert!(!whole.is_empty());
            let key = |line: &GeneratedLine| (line.wire.numero_factura.clone(), line.wire.linea);
            let joined: Vec<_> = first.iter().chain(&second).map(key).collect();
            assert_eq!(whole.iter().map(key).collect::<Vec<_>>(), joined);
        }
    }

    #[test]
    fn edge_lines_sit_exactly_on_the_boundaries_with_their_own_keys() {
        let data = SimData::default();
        let store = &data.stores[0];
        let day = |edge_lines| {
            lines_between(
                &data,
                store,
                edge_lines,
                at("2025-11-17", "00:00:00"),
                at("2025-11-18", "00:00:00"),
            )
        };
        let plain = day(false);
        let with_edges = day(true);
        let edges: Vec<&GeneratedLine> = with_edges
            .iter()
            .filter(|line| line.wire.numero_factura.starts_with(EDGE_INVOICE_PREFIX))
            .collect();
        assert!(
            plain
                .iter()
                .all(|line| !line.wire.numero_factura.starts_with(EDGE_INVOICE_PREFIX))
        );
        assert_eq!(edges.len(), 24 * 4 + 2);
        assert_eq!(with_edges.len(), plain.len() + edges.len());
        let horas: Vec<&str> = edges.iter().map(|line| line.wire.hora.as_str()).collect();
        assert_eq!(horas[0], "00:00:00.0000000");
        assert_eq!(horas[1], "00:15:00.0000000");
        assert_eq!(horas[48], "12:00:00.0000000");
        assert_eq!(
            &horas[95..],
            ["23:45:00.0000000", "23:59:59.8", "23:59:59.9999999"]
        );
        let last = edges[97];
        assert_eq!(
            last.exact,
            at("2025-11-17", "23:59:59") + chrono::TimeDelta::nanoseconds(999_999_900)
        );
        assert_eq!(last.wire.fecha_hora_completa, "2025-11-17T23:59:59");
        assert_eq!(last.wire.fecha, "2025-11-17");
        let mut keys: Vec<_> = with_edges
            .iter()
            .map(|line| (&line.wire.numero_factura, line.wire.linea))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            with_edges.len(),
            "keys are unique per store-day"
        );
        assert!(edges.iter().all(|line| !line.duplicated));
        let again = day(true);
        assert_eq!(
            again.iter().map(|line| &line.wire).collect::<Vec<_>>(),
            with_edges.iter().map(|line| &line.wire).collect::<Vec<_>>(),
            "deterministic"
        );
    }

    #[test]
    fn a_changed_line_sells_one_more_unit_and_its_invoice_total_follows() {
        let data = SimData::default();
        let store = &data.stores[0];
        let (from, to) = (at("2025-11-17", "12:00:00"), at("2025-11-17", "12:10:00"));
        let original = lines_between(&data, store, true, from, to);
        let changed = changed_lines(&data, store, true, from, to);
        assert_eq!(original.len(), changed.len());
        for (before, after) in original.iter().zip(&changed) {
            assert_eq!(
                (&before.wire.numero_factura, before.wire.linea),
                (&after.wire.numero_factura, after.wire.linea)
            );
            let (qty_before, qty_after) = (
                before.wire.cantidad[0].cantidad_vendida,
                after.wire.cantidad[0].cantidad_vendida,
            );
            assert_eq!(qty_after, qty_before + 1.0);
            let (money_before, money_after) =
                (&before.wire.financiero[0], &after.wire.financiero[0]);
            let unit_net =
                money_after.precio_unitario_usd * (1.0 - money_after.porcentaje_descuento / 100.0);
            assert!(
                (money_after.venta_total_usd - money_before.venta_total_usd - unit_net).abs()
                    < 0.011,
                "{money_before:?} -> {money_after:?}"
            );
            assert!(money_after.costo_total_usd > money_before.costo_total_usd);
            assert!(after.wire.total_factura > before.wire.total_factura);
        }
        // Recomputing with the original quantity gives back the generated values (a line
        // sold by the unit, so that the quantities are exact).
        let index = changed
            .iter()
            .position(|line| line.wire.cantidad[0].peso_unitario == 0.0)
            .expect("a line sold by the unit");
        let mut restored = changed[index].wire.clone();
        restored.cantidad[0].cantidad_vendida -= 2.0;
        change_line(&mut restored);
        assert_eq!(restored.financiero, original[index].wire.financiero);
    }

    #[test]
    fn invoice_keys_are_unique_over_a_day_and_volume_follows_the_multiplier() {
        let mut data = SimData::default();
        data.stores[1].volume_multiplier = 10.0;
        let day = |store: &SimStore| {
            lines_between(
                &data,
                store,
                false,
                at("2025-11-17", "00:00:00"),
                at("2025-11-18", "00:00:00"),
            )
        };
        let normal = day(&data.stores[0]);
        let big = day(&data.stores[1]);
        let mut keys: Vec<_> = big
            .iter()
            .map(|l| (&l.wire.numero_factura, l.wire.linea))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), big.len());
        let expected = 120.0 * 24.0;
        assert!(
            (normal.len() as f64 - expected).abs() < expected * 0.1,
            "{}",
            normal.len()
        );
        assert!((big.len() as f64 / normal.len() as f64 - 10.0).abs() < 1.0);
    }

    #[test]
    fn stock_has_negative_and_fractional_values() {
        let data = SimData::default();
        let stock = warehouse_articles(&data, "APP-TPF");
        assert_eq!(stock.len(), 4_000);
        assert!(stock.iter().any(|a| a.stock < 0.0));
        assert!(stock.iter().any(|a| a.stock.fract() != 0.0));
        assert!(stock.iter().any(|a| a.marca.is_none()));
        assert!(stock.iter().any(|a| a.marca.as_deref() == Some("N/A")));
    }
}
