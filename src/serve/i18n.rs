//! The dashboard's words in Spanish (the operators') and English. The data's vocabulary
//! (`fallido`, `sin_ejecucion`, `recuperacion`...) stays as in the database.

use axum::http::{HeaderMap, header};

use super::auth::{LANG_COOKIE, cookie};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Es,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().get(..2) {
            Some("es") => Some(Lang::Es),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Es => Lang::En,
            Lang::En => Lang::Es,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::Es => &ES,
            Lang::En => &EN,
        }
    }
}

/// `?lang=` (the switch), then the `klk_lang` cookie it sets, then the best of
/// `Accept-Language`; Spanish when nothing says.
pub fn choose(headers: &HeaderMap, query_lang: Option<&str>) -> Lang {
    if let Some(lang) = query_lang.and_then(Lang::parse) {
        return lang;
    }
    if let Some(lang) = cookie(headers, LANG_COOKIE)
        .as_deref()
        .and_then(Lang::parse)
    {
        return lang;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut best: Option<(f32, Lang)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let Some(lang) = pieces.next().and_then(Lang::parse) else {
            continue;
        };
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::Es, |(_, lang)| lang)
}

pub struct Text {
    pub title: &'static str,
    pub switch_to: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub token: &'static str,
    pub login_help: &'static str,
    pub wrong_token: &'static str,
    pub health: &'static str,
    pub coverage: &'static str,
    pub coverage_help: &'static str,
    pub last_7_days: &'static str,
    pub last_30_days: &'static str,
    pub store: &'static str,
    pub stock: &'static str,
    pub state_covered: &'static str,
    pub state_gap: &'static str,
    pub state_backing_off: &'static str,
    pub state_in_flight: &'static str,
    pub state_not_due: &'static str,
    pub state_closed: &'static str,
    pub state_unverified: &'static str,
    pub open_gaps: &'static str,
    pub no_gaps: &'static str,
    pub all_gaps: &'static str,
    pub window: &'static str,
    pub cause: &'static str,
    pub error: &'static str,
    pub age_hours: &'static str,
    pub attempts: &'static str,
    pub recover: &'static str,
    pub recover_needs_sign_in: &'static str,
    pub recovering: &'static str,
    pub live: &'static str,
    pub live_help: &'static str,
    pub no_executions: &'static str,
    pub started: &'static str,
    pub mode: &'static str,
    pub state: &'static str,
    pub rows: &'static str,
    pub seconds: &'static str,
    pub reliability: &'static str,
    pub reliability_help: &'static str,
    pub success_rate: &'static str,
    pub p95_duration: &'static str,
    pub lines_loaded: &'static str,
    pub late_lines: &'static str,
    pub unverified_days: &'static str,
    pub web_recoveries: &'static str,
    pub asked_by: &'static str,
    pub executions: &'static str,
    pub back: &'static str,
    pub updated: &'static str,
    pub next_try: &'static str,
    pub tipo: &'static str,
    pub more: &'static str,
}

pub static ES: Text = Text {
    title: "ETL KLK: estado",
    switch_to: "English",
    sign_in: "Entrar",
    sign_out: "Salir",
    signed_in_as: "Sesión de",
    token: "Token",
    login_help: "El token de [serve] en klk-etl.toml. Hace falta para recuperar; para leer, solo si read_requires_token.",
    wrong_token: "Token incorrecto.",
    health: "Salud",
    coverage: "Cobertura de ventas",
    coverage_help: "Cada celda es media hora (o un día) de una tienda; pulse para ver sus ejecuciones.",
    last_7_days: "Últimos 7 días por media hora",
    last_30_days: "Últimos 30 días por día",
    store: "Tienda",
    stock: "Inventario",
    state_covered: "cubierto",
    state_gap: "hueco",
    state_backing_off: "hueco en espera (reintentos espaciados)",
    state_in_flight: "cargando",
    state_not_due: "aún no toca",
    state_closed: "sin ventas esperadas",
    state_unverified: "día sin verificar",
    open_gaps: "Huecos abiertos",
    no_gaps: "No hay huecos abiertos.",
    all_gaps: "Ver todos los huecos",
    window: "Ventana",
    cause: "Causa",
    error: "Error",
    age_hours: "Horas",
    attempts: "Intentos",
    recover: "Recuperar",
    recover_needs_sign_in: "Entre para recuperar",
    recovering: "Recuperando…",
    live: "Ejecuciones en vivo",
    live_help: "Se actualiza cada 5 segundos.",
    no_executions: "Sin ejecuciones.",
    started: "Inicio",
    mode: "Modo",
    state: "Estado",
    rows: "Filas",
    seconds: "Seg.",
    reliability: "Confiabilidad por tienda",
    reliability_help: "Ventas, últimos 14 días: tasa de éxito, duración p95 y líneas cargadas por día.",
    success_rate: "Éxito %",
    p95_duration: "p95 (s)",
    lines_loaded: "Líneas cargadas",
    late_lines: "Líneas tardías (7 d)",
    unverified_days: "Días sin verificar",
    web_recoveries: "Recuperaciones pedidas desde la web",
    asked_by: "Pedida por",
    executions: "Ejecuciones",
    back: "Volver al panel",
    updated: "Actualizado",
    next_try: "próximo intento",
    tipo: "Tipo",
    more: "y más",
};

pub static EN: Text = Text {
    title: "KLK ETL status",
    switch_to: "Español",
    sign_in: "Sign in",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    token: "Token",
    login_help: "A [serve] token from klk-etl.toml. Needed to recover; to read, only with read_requires_token.",
    wrong_token: "Wrong token.",
    health: "Health",
    coverage: "Sales coverage",
    coverage_help: "Each cell is a store's half hour (or day); click it for its executions.",
    last_7_days: "Last 7 days by half hour",
    last_30_days: "Last 30 days by day",
    store: "Store",
    stock: "Stock",
    state_covered: "covered",
    state_gap: "gap",
    state_backing_off: "gap waiting (retries spaced out)",
    state_in_flight: "loading",
    state_not_due: "not due yet",
    state_closed: "no sales expected",
    state_unverified: "day not verified",
    open_gaps: "Open gaps",
    no_gaps: "No open gaps.",
    all_gaps: "All gaps",
    window: "Window",
    cause: "Cause",
    error: "Error",
    age_hours: "Hours",
    attempts: "Attempts",
    recover: "Recover",
    recover_needs_sign_in: "Sign in to recover",
    recovering: "Recovering…",
    live: "Live executions",
    live_help: "Refreshed every 5 seconds.",
    no_executions: "No executions.",
    started: "Started",
    mode: "Mode",
    state: "State",
    rows: "Rows",
    seconds: "Secs",
    reliability: "Reliability per store",
    reliability_help: "Sales, last 14 days: success rate, p95 duration and lines loaded per day.",
    success_rate: "Success %",
    p95_duration: "p95 (s)",
    lines_loaded: "Lines loaded",
    late_lines: "Late lines (7 d)",
    unverified_days: "Unverified days",
    web_recoveries: "Recoveries asked for from the web",
    asked_by: "Asked by",
    executions: "Executions",
    back: "Back to the dashboard",
    updated: "Updated",
    next_try: "next try",
    tipo: "Tipo",
    more: "and more",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_then_the_cookie_then_accept_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(choose(&headers, None), Lang::Es);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "es-VE;q=0.5, en-US".parse().unwrap(),
        );
        assert_eq!(choose(&headers, None), Lang::En);
        headers.insert(header::COOKIE, "klk_lang=es".parse().unwrap());
        assert_eq!(choose(&headers, None), Lang::Es);
        assert_eq!(choose(&headers, Some("en")), Lang::En);
    }
}
