//! Checks the architecture invariants of `ARCHITECTURE.md` that are about the source itself: the core
//! layers never import the UI toolkit, library code neither unwraps nor prints to stdout, and no module
//! reaches itself through its `crate::`/`super::`/`self::` imports (no import circle).

use std::fs;
use std::path::{Path, PathBuf};

/// The files of the `vaultscope` binary rather than the library (`mod` in `main.rs`).
const BINARY_FILES: &[&str] = &["main.rs", "check_command.rs"];

const CORE_LAYERS: &[&str] = &[
    "auth",
    "azure",
    "access",
    "transfer",
    "local_index",
    "worker",
    "emulator",
    "untrusted_text",
    "fuzz_checks",
    "http_body",
    "pipeline_check",
];

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
        // A layer is a directory, or one file for a small leaf module.
        let dir = src.join(layer);
        let single = src.join(format!("{layer}.rs"));
        let files = if dir.is_dir() {
            rust_files(&dir)
        } else {
            assert!(single.is_file(), "layer {layer} exists");
            vec![single]
        };
        for file in files {
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
        // The binary's own files (main and the command-line commands it declares) print their answers.
        if BINARY_FILES.iter().any(|name| file.ends_with(name)) {
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

/// The module a source file is (`src/ui/state/mod.rs` → `ui::state`), as path segments.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut segments: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segments.last().is_some_and(|last| last == "mod") {
        segments.pop();
    }
    if segments == ["lib"] || segments == ["main"] {
        segments.clear();
    }
    segments
}

/// The modules `code` names through `crate::…`, `super::…` and `self::…` paths (including `use` groups),
/// resolved to the longest prefix that is a module of the crate.
fn referenced_modules(
    module: &[String],
    is_mod_file: bool,
    code: &str,
    modules: &std::collections::BTreeSet<Vec<String>>,
) -> std::collections::BTreeSet<Vec<String>> {
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    let mut found = std::collections::BTreeSet::new();
    let resolve = |path: Vec<String>| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|length| path[..length].to_vec())
            .find(|prefix| modules.contains(prefix))
    };
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = code;
    while let Some(at) = rest.find(['c', 's']) {
        let (before, tail) = rest.split_at(at);
        let boundary = before.chars().last().is_none_or(|c| !word(c) && c != ':');
        let root = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|root| tail.starts_with(root));
        rest = &tail[1..];
        let (Some(root), true) = (root, boundary) else {
            continue;
        };
        let mut base = match root {
            "crate::" => Vec::new(),
            "self::" if is_mod_file => module.to_vec(),
            "self::" => parent.clone(),
            _ => parent.clone(),
        };
        let mut path_text = &tail[root.len()..];
        while let Some(after) = path_text.strip_prefix("super::") {
            base.pop();
            path_text = after;
        }
        // `a::b::{c, d::e}`: the prefix, then each member of the group.
        let prefix: Vec<String> = path_text
            .split("::")
            .take_while(|segment| !segment.is_empty() && segment.chars().all(word))
            .map(str::to_owned)
            .collect();
        let mut targets = vec![[base.clone(), prefix.clone()].concat()];
        let after_prefix = &path_text[prefix
            .iter()
            .map(|s| s.len() + 2)
            .sum::<usize>()
            .min(path_text.len())..];
        if let Some(group) = after_prefix.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for member in group.split(',') {
                let first = member.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty() && first.chars().all(word) {
                    targets.push([base.clone(), prefix.clone(), vec![first.to_owned()]].concat());
                }
            }
        }
        for target in targets {
            if let Some(resolved) = resolve(target)
                && resolved != module
            {
                found.insert(resolved);
            }
        }
    }
    found
}

#[test]
fn modules_form_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let modules: std::collections::BTreeSet<Vec<String>> =
        files.iter().map(|file| module_of(&src, file)).collect();
    let mut edges: std::collections::BTreeMap<
        Vec<String>,
        std::collections::BTreeSet<Vec<String>>,
    > = Default::default();
    for file in &files {
        let module = module_of(&src, file);
        let text = fs::read_to_string(file).expect("readable");
        let code: String = non_test_part(&text)
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let is_mod_file = file.ends_with("mod.rs");
        edges.insert(
            module.clone(),
            referenced_modules(&module, is_mod_file, &code, &modules),
        );
    }
    // A circle is a pair of modules each reachable from the other.
    let reachable = |from: &Vec<String>| {
        let mut seen = std::collections::BTreeSet::new();
        let mut pending = vec![from.clone()];
        while let Some(module) = pending.pop() {
            for next in edges.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        seen
    };
    let mut circles = Vec::new();
    for module in edges.keys() {
        if reachable(module).contains(module) {
            circles.push(module.join("::"));
        }
    }
    assert!(
        circles.is_empty(),
        "modules in an import circle (each reaches itself through its imports): {circles:?}"
    );
}
