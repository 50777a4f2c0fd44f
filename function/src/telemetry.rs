//! Structured JSON logs via `tracing`. Values never reach a log line: our code logs names, regions,
//! outcomes and reason codes only, and the SDK's TRACE events (which print raw request and response
//! bodies, values included) are dropped whatever `RUST_LOG` asks for.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// True for events that may carry request or response bodies: TRACE from anything but this crate.
pub fn may_carry_bodies(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE && !meta.target().starts_with("ssm_replicator")
}

/// The JSON log layer: `filter` (e.g. from `RUST_LOG`) plus the body guard.
pub fn json_layer<S, W>(writer: W, filter: EnvFilter) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_ansi(false)
        .with_current_span(false)
        .with_span_list(false)
        .with_filter(filter)
        .with_filter(filter_fn(|meta| !may_carry_bodies(meta)))
}

/// Install JSON logs on stdout; level from `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry().with(json_layer(std::io::stdout, filter)).try_init();
}
