//! The pure core: types and decisions. No SDK, no JSON envelopes, no I/O.

pub mod cursor;
pub mod keys;
pub mod labels;
pub mod name;
pub mod ownership;
pub mod parameter;
pub mod planner;
pub mod report;
pub mod secret;
pub mod selection;
pub mod target;

pub use cursor::Cursor;
pub use keys::{KeyRequest, TargetKey};
pub use name::{NameError, ParameterName};
pub use ownership::{tags_digest, Owner, Ownership, OWNER_TAG, TAGS_DIGEST_TAG};
pub use parameter::{Metadata, Parameter, ParameterType, Tags, Tier, Value};
pub use planner::{plan_delete, plan_prune, plan_write, Action, Desired, Plan, Rules, Stored, TagLimit, MAX_TAGS};
pub use report::{Field, Kind, Outcome, ParameterResult, Reason, Report, TargetResult};
pub use selection::{Decision, Selection, SelectionMode};
pub use target::{Target, TargetEntry};
