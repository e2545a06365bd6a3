//! Captures every log line of the test process, so a test can look for the lines that name
//! its own control plane (each test's stand-in has its own port).

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        // Visible with `--nocapture`, like any test output.
        eprint!("{}", String::from_utf8_lossy(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

static CAPTURE: OnceLock<Buffer> = OnceLock::new();

/// Installs the process-wide capture (once); call at the start of every test.
pub fn capture() {
    CAPTURE.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buffer
    });
}

/// Every line logged so far.
pub fn text() -> String {
    let buffer = CAPTURE.get().expect("logs::capture() first");
    let bytes = buffer.0.lock().expect("log buffer").clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The log lines holding every fragment.
pub fn lines_with(fragments: &[&str]) -> Vec<String> {
    text()
        .lines()
        .filter(|line| fragments.iter().all(|fragment| line.contains(fragment)))
        .map(str::to_owned)
        .collect()
}
