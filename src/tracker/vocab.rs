//! The seed's Spanish vocabulary, as typed values.

use serde::Serialize;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
        pub enum $name {
            $(
                #[serde(rename = $text)]
                #[value(name = $text)]
                $variant,
            )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// `etl_tipo`.
    EtlTipo { Ventas => "ventas", Inventario => "inventario" }
}

vocabulary! {
    /// `estado` of an execution.
    Estado {
        EnProceso => "en_proceso",
        Exitoso => "exitoso",
        Fallido => "fallido",
        Parcial => "parcial",
    }
}

vocabulary! {
    /// `modo` of an execution.
    Modo {
        Completo => "completo",
        Incremental => "incremental_30min",
        Recuperacion => "recuperacion",
        Verificacion => "verificacion",
    }
}

vocabulary! {
    /// `error_tipo` of a failed execution (`sin_ejecucion` only ever describes a gap).
    ErrorTipo {
        Timeout => "timeout",
        Conexion => "conexion",
        ApiError => "api_error",
        DbError => "db_error",
        Interrumpido => "interrumpido",
        Validacion => "validacion",
        Unknown => "unknown",
        SinEjecucion => "sin_ejecucion",
    }
}
