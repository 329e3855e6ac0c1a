//! The physical floor: Parquet in, Parquet out, with arrow-rs alone.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use arrow::array::RecordBatchReader;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Copies every `.parquet` file under `input` to the same path under `output`, decoding and
/// encoding every batch (Snappy, as delta-rs writes by default). Returns files and rows.
pub fn copy_all(input: &Path, output: &Path) -> Result<(u64, u64)> {
    let (mut files, mut rows) = (0, 0);
    for entry in std::fs::read_dir(input).with_context(|| input.display().to_string())? {
        let path = entry?.path();
        let target = output.join(path.file_name().context("a file name")?);
        if path.is_dir() {
            let (f, r) = copy_all(&path, &target)?;
            files += f;
            rows += r;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            rows += copy(&path, &target)?;
            files += 1;
        }
    }
    Ok((files, rows))
}

fn copy(source: &Path, target: &Path) -> Result<u64> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(source)?)?.build()?;
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(File::create(target)?, reader.schema(), Some(properties))?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}
