//! The walkthrough of `docs/control-plane.md`, run exactly as written: its `sh` blocks (under
//! `## Walkthrough`, in order) with `bash -euo pipefail` from the repository's root, the
//! built binary first on `PATH`, and a temporary directory as `TMPDIR` (the walkthrough's
//! `mktemp -d`). The test checks the outcomes the walkthrough states, and that every process
//! it started is gone afterwards (its trap, then the test's own kill of the process group).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, BINARY};

const DOC: &str = "docs/control-plane.md";
const SECTION: &str = "## Walkthrough";
/// The walkthrough takes a few seconds; this is for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(180);

/// Lines the walkthrough shows in its output blocks, checked in what its commands print.
const STATED_OUTCOMES: [&str; 5] = [
    "version 1 is ACTIVE in production",
    "~ routes[name=users].policies.timeoutMs: 1000 -> 2000",
    "version 2 is ACTIVE in production (was 1)",
    "rolled back production: version 2 is ROLLED_BACK, version 1 is ACTIVE",
    "\"service\":\"users\"",
];

#[test]
fn the_control_plane_walkthrough_runs_as_written() {
    let root = repository_root();
    let markdown = std::fs::read_to_string(root.join(DOC)).expect("read the walkthrough");
    let section = walkthrough_section(&markdown);
    let blocks = fenced_blocks(section, "sh");
    assert!(blocks.len() >= 5, "the walkthrough's sh blocks: {blocks:?}");
    for outcome in STATED_OUTCOMES {
        assert!(
            fenced_blocks(section, "text")
                .iter()
                .any(|block| block.contains(outcome)),
            "the walkthrough does not state {outcome:?} in its output blocks"
        );
    }

    let _ports = harness::lock_quickstart_ports();
    let ports = fixed_ports(&blocks, &root);
    for &port in &ports {
        if let Err(error) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "port {port} (127.0.0.1:{port}), which the walkthrough in {DOC} uses, is busy \
                 ({error}): stop what listens there and run the test again"
            );
        }
    }

    let work = harness::temp_dir();
    let (stdout, stderr) = run(&blocks, &root, work.path());
    for outcome in STATED_OUTCOMES {
        assert!(stdout.contains(outcome), "no {outcome:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("\"service\":\"users\"").count(),
        2,
        "one answer through each data plane:\n{stdout}"
    );
    for instance in ["dp-1", "dp-2"] {
        let row = columns(&stdout, instance);
        // INSTANCE ENVIRONMENT POOL STATE VERSION ...
        assert_eq!(
            row[1..5],
            ["production", "default", "live", "2"],
            "{stdout}"
        );
    }
    assert_eq!(columns(&stdout, "2")[1], "ROLLED_BACK", "{stdout}");
    assert_eq!(columns(&stdout, "1")[1], "ACTIVE", "{stdout}");
    assert!(
        stderr.contains("created token") && !stdout.contains("created token"),
        "the dataplane token alone goes to its file:\n{stderr}"
    );
    for &port in &ports {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} is still taken after the walkthrough's clean-up"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .expect("read the temporary directory")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name != "walkthrough.sh")
        .collect();
    assert!(
        leftovers.is_empty(),
        "the walkthrough removes $WALK: {leftovers:?}"
    );
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root")
}

/// From `## Walkthrough` to the next `## ` heading.
fn walkthrough_section(markdown: &str) -> &str {
    let start = markdown
        .find(&format!("\n{SECTION}\n"))
        .unwrap_or_else(|| panic!("{DOC} has no {SECTION:?} section"));
    let rest = &markdown[start + 1..];
    let end = rest[SECTION.len()..]
        .find("\n## ")
        .map_or(rest.len(), |end| end + SECTION.len() + 1);
    &rest[..end]
}

/// The contents of the fenced blocks tagged `language`, in order.
fn fenced_blocks(section: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        match current.as_mut() {
            None if line.trim_end() == opening => current = Some(Vec::new()),
            None => {}
            Some(lines) if line.trim_end() == "```" => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    assert!(
        current.is_none(),
        "an unclosed ```{language} block in {SECTION}"
    );
    blocks
}

/// Every loopback port the blocks name, and the example upstreams' ports of
/// `examples/quickstart.yaml` (the walkthrough starts them).
fn fixed_ports(blocks: &[String], root: &Path) -> Vec<u16> {
    let example = std::fs::read_to_string(root.join("examples/quickstart.yaml"))
        .expect("read examples/quickstart.yaml");
    let mut ports: Vec<u16> = blocks
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(example.as_str()))
        .flat_map(|text| text.split("127.0.0.1:").skip(1))
        .filter_map(|after| {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    // The example's own listener and admin addresses are overridden by the walkthrough.
    let overridden = ["8080", "9901"];
    ports.retain(|port| !overridden.contains(&port.to_string().as_str()));
    ports.sort_unstable();
    ports.dedup();
    assert!(
        ports.contains(&18082) && ports.contains(&17070),
        "{ports:?}"
    );
    ports
}

/// The whitespace-separated cells of the first output line whose first cell is `first`.
fn columns<'a>(stdout: &'a str, first: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&first) && cells.len() > 4)
        .unwrap_or_else(|| panic!("no output row starting with {first}:\n{stdout}"))
}

/// Runs the blocks as one script; (stdout, stderr). Panics with both, and the processes'
/// logs, when it fails or outlasts [`DEADLINE`].
fn run(blocks: &[String], root: &Path, work: &Path) -> (String, String) {
    let binary_dir = Path::new(BINARY).parent().expect("the binary's directory");
    // Ours, not the walkthrough's: stop whatever is left however the script ends, and make
    // sure `portcullis` is the binary under test.
    let prelude = format!(
        "trap 'leftover=$(jobs -p); [ -z \"$leftover\" ] || kill $leftover 2>/dev/null || true' EXIT\n\
         [ \"$(command -v portcullis)\" = '{BINARY}' ] || {{ echo 'portcullis on PATH is not {BINARY}' >&2; exit 1; }}\n"
    );
    let script = work.join("walkthrough.sh");
    std::fs::write(&script, format!("{prelude}\n{}\n", blocks.join("\n\n"))).expect("script");
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail"])
        .arg(&script)
        .current_dir(root)
        .env("PATH", path)
        .env("TMPDIR", work)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PORTCULLIS_") {
            command.env_remove(name);
        }
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("run bash");
    let group = ProcessGroup(child.id());
    let stdout = read_in_background(child.stdout.take().expect("stdout"));
    let stderr = read_in_background(child.stderr.take().expect("stderr"));
    let status = wait(&mut child);
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    drop(group);
    match status {
        Some(status) if status.success() => (stdout, stderr),
        outcome => panic!(
            "the walkthrough {}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n{}",
            match outcome {
                Some(status) => format!("failed ({status})"),
                None => format!("did not finish within {DEADLINE:?}"),
            },
            logs(work)
        ),
    }
}

/// Waits for `child` up to [`DEADLINE`]; `None` when it is still running then.
fn wait(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// The processes' log files the walkthrough left (it removes them when it gets to its end).
fn logs(work: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(work) else {
        return text;
    };
    for walk in entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
    {
        let Ok(files) = std::fs::read_dir(walk.path()) else {
            continue;
        };
        for file in files.filter_map(Result::ok) {
            if file
                .path()
                .extension()
                .is_some_and(|extension| extension == "log")
            {
                let contents = std::fs::read_to_string(file.path()).unwrap_or_default();
                text.push_str(&format!("--- {}\n{contents}\n", file.path().display()));
            }
        }
    }
    text
}

/// Kills the script's whole process group when dropped: nothing it started outlives the test.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}
