//! `klk-etl serve`: the web status page, the HTTP API, `/health` and `/metrics`.

use std::io::Write;

use super::Ctx;
use crate::exit::{Exit, UsageError};
use crate::tracker::Access;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Serves until SIGINT/SIGTERM (then finishes the requests in flight and exits 0).
Logs one line per request on stderr. Pages: / (dashboard), /days, /gaps, /executions.
APIs: /api/v1/{gaps,metrics,executions,status,health,stores}, /api/etl/tracking/...,
/health (200 OK/WARNING, 503 CRITICAL/UNKNOWN), /metrics (Prometheus).
Recovering from the web needs a [serve] token; see docs/serve.md.")]
pub struct ServeArgs {
    /// Address and port to listen on [default: [serve] listen, 127.0.0.1:8080]; port 0 picks a free one
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

impl ServeArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        let listen = self
            .listen
            .unwrap_or_else(|| ctx.config.serve.listen.clone());
        let addr = crate::config::check_listen(&listen)
            .map_err(|e| UsageError(format!("--listen: {e}")))?;
        // Fail now, with the usual exit code, on a database that cannot be used (and
        // migrate a new or older file once, before the first request).
        drop(ctx.open_database(Access::Read)?);
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| UsageError(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr()?;
        let serve = &ctx.config.serve;
        if !bound.ip().is_loopback() && serve.tokens.is_empty() {
            ctx.out.warn(&format!(
                "listening on {bound} without a [serve] token: anyone who reaches it can read the pages (recovering stays disabled)"
            ));
        }
        if serve.tokens.is_empty() {
            ctx.out.note(
                "no [serve] token configured: the Recover button and POST endpoints are disabled",
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "klk-etl serve: listening on http://{bound}"
        );
        crate::serve::run(ctx.config.clone(), ctx.clock, listener)?;
        let _ = writeln!(std::io::stderr(), "klk-etl serve: stopped");
        Ok(Exit::Ok)
    }
}
