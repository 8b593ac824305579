//! `import`: a CSV file, all rows or none.

use std::fs;
use std::io::Read;
use std::path::Path;

use sajja_node::import::{self};

use super::shared::{open, usage};

pub fn import_file(data_dir: &Path, file: &Path, again: bool) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let input = fs::File::open(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    // One byte over the bound tells a file that is too large from one that fits.
    let mut bytes = Vec::new();
    input
        .take(import::MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("{}: {e}", file.display())))?;
    if bytes.len() as u64 > import::MAX_IMPORT_BYTES {
        return Err(usage(format!(
            "{}: larger than {} MiB; split the file",
            file.display(),
            import::MAX_IMPORT_BYTES >> 20
        )));
    }
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let summary = import::import_csv(&mut store, &bytes, &name, again)?;
    println!(
        "imported {} events: seq {}..={}",
        summary.rows, summary.first_seq, summary.last_seq
    );
    if !summary.unpaid.is_empty() {
        // A big group's sheet may leave hundreds blank: the first rows name
        // the pattern, the count says the rest.
        const SHOWN: usize = 20;
        let mut rows: Vec<String> = summary
            .unpaid
            .iter()
            .take(SHOWN)
            .map(u64::to_string)
            .collect();
        if summary.unpaid.len() > SHOWN {
            rows.push("…".to_string());
        }
        println!(
            "not recorded: {} contribute rows with no amount (rows {}), taken as not paid",
            summary.unpaid.len(),
            rows.join(", ")
        );
    }
    Ok(())
}
