//! The packaging of `make build`: `scripts/repack-zip.py`, which re-deflates the Lambda zips that
//! cargo-lambda writes, read back by Python's own zip reader.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes a zip as cargo-lambda does (an executable `bootstrap`, deflated at zlib's default
/// level) with a second, plain entry, and prints the size of each entry.
const WRITE_ZIP: &str = r#"
import sys, zipfile
path = sys.argv[1]
binary = b"".join(b"fn_%06d:" % (i % 5000) + bytes([i % 251]) * (i % 7) for i in range(200_000))
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    entry = zipfile.ZipInfo("bootstrap", date_time=(2026, 11, 27, 20, 7, 52))
    entry.external_attr = 0o100755 << 16
    z.writestr(entry, binary, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("README.txt", "not an executable\n")
"#;

/// Prints, per entry of each zip: name, compression method, Unix mode, time and CRC-checked bytes.
const DESCRIBE_ZIP: &str = r#"
import hashlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None, "a CRC does not match"
    for e in z.infolist():
        digest = hashlib.sha256(z.read(e)).hexdigest()
        print(e.filename, e.compress_type, oct(e.external_attr >> 16), e.date_time, e.file_size, digest)
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The tools interpreter that `make test` prepares and a scratch folder, or None (the test says
/// it is skipped) when the suite runs without that interpreter.
fn python_and_folder() -> Option<(String, tempfile::TempDir)> {
    let Ok(python) = std::env::var("LAKEHOUSE_TEST_PYTHON") else {
        eprintln!("skipped: LAKEHOUSE_TEST_PYTHON is not set (run `make test`)");
        return None;
    };
    Some((python, tempfile::tempdir().unwrap()))
}

fn run(python: &str, args: &[&str]) -> Output {
    Command::new(python).args(args).current_dir(repo()).output().unwrap()
}

fn describe(python: &str, zip: &Path) -> String {
    let out = run(python, &["-c", DESCRIBE_ZIP, zip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn repacked_zip_holds_the_same_entries_smaller() {
    let Some((python, dir)) = python_and_folder() else {
        return;
    };
    let zip = dir.path().join("bootstrap.zip");
    let out = run(&python, &["-c", WRITE_ZIP, zip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = describe(&python, &zip);
    let size_before = std::fs::metadata(&zip).unwrap().len();

    let out = run(&python, &["scripts/repack-zip.py", zip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let after = describe(&python, &zip);
    assert_eq!(after, before, "the entries, their modes, times and bytes are kept");
    assert!(
        after.contains("bootstrap 8 0o100755"),
        "deflated and executable: {after}"
    );
    let size_after = std::fs::metadata(&zip).unwrap().len();
    assert!(
        size_after < size_before,
        "{size_after} bytes after, {size_before} before"
    );
    assert!(
        !dir.path().join("bootstrap.repacked").exists(),
        "no candidate left behind"
    );
}

#[test]
fn a_file_that_is_not_a_zip_is_named_and_left_as_it_was() {
    let Some((python, dir)) = python_and_folder() else {
        return;
    };
    let path = dir.path().join("bootstrap.zip");
    std::fs::write(&path, b"an interrupted download").unwrap();

    let out = run(&python, &["scripts/repack-zip.py", path.to_str().unwrap()]);

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(path.to_str().unwrap()) && stderr.contains("cannot read it as a zip"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"an interrupted download");
}
