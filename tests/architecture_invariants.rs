//! Checks the architecture invariants of `ARCHITECTURE.md` that are about the source itself: the core
//! layers never import the UI toolkit, and library code neither unwraps nor prints to stdout.

use std::fs;
use std::path::{Path, PathBuf};

const CORE_LAYERS: &[&str] = &["auth", "azure", "access", "worker", "emulator"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The text of `source` before its `#[cfg(test)]` module, which may unwrap freely.
fn non_test_part(source: &str) -> &str {
    source
        .find("#[cfg(test)]")
        .map_or(source, |at| &source[..at])
}

#[test]
fn core_layers_never_import_egui_or_eframe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for layer in CORE_LAYERS {
        let dir = src.join(layer);
        assert!(dir.is_dir(), "layer {layer} exists");
        for file in rust_files(&dir) {
            let text = fs::read_to_string(&file).expect("readable");
            for (number, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if code.contains("egui::") || code.contains("eframe::") || code.contains("use egui")
                {
                    offenders.push(format!("{}:{}: {line}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "core layers must stay UI-free:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_source_file_starts_with_a_module_doc_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src"));
    files.extend(rust_files(&root.join("tests")));
    files.extend(rust_files(&root.join("benches")));
    let missing: Vec<_> = files
        .iter()
        .filter(|file| {
            !fs::read_to_string(file)
                .expect("readable")
                .starts_with("//!")
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a //! line: {missing:?}");
}

#[test]
fn library_code_does_not_unwrap_or_print() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        if file.ends_with("main.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("readable");
        for (number, line) in non_test_part(&text).lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if code.contains(".unwrap()") || code.contains("println!(") || code.contains("dbg!(") {
                offenders.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
