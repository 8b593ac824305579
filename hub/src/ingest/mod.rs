//! Every write to the hub's store: the accept rule for pushed batches
//! (`accept`), the hub's own administrative log (`admin`), the operator's
//! operations (`operations`), and the scrub that re-verifies stored logs and
//! marks damage (`scrub`).

pub mod accept;
pub mod admin;
pub mod operations;
pub mod scrub;
