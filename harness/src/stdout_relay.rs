//! Keeps a run going when the reader of its stdout goes away.
//!
//! libtest's printer unwraps every write to stdout, so `picharness run | head`
//! used to panic as soon as `head` exited, before any report was written.
//! When stdout is not a terminal, the printer writes into a pipe of ours
//! instead (through its `logfile` option, naming the pipe by `/dev/fd`), and a
//! thread copies whole lines from that pipe to stdout. Once stdout is closed
//! the thread goes on reading and drops the lines, so the printer never sees
//! an error and the run ends with its reports written.
//!
//! The JSON event lines the run prints itself go through the same pipe while
//! a relay is active, so they keep their order relative to libtest's lines.

use std::io::{BufRead, BufReader, IsTerminal, PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::thread::JoinHandle;

use libtest_mimic::Arguments;

/// The write end the run's own lines go to while a relay is active.
static SINK: Mutex<Option<PipeWriter>> = Mutex::new(None);

/// A running relay; [`StdoutRelay::finish`] waits until it has copied
/// everything the printer wrote.
pub(crate) struct StdoutRelay {
    copier: JoinHandle<()>,
}

impl StdoutRelay {
    /// Points libtest's output at a relay when stdout is not a terminal and
    /// no `--logfile` was given. Without `/dev/fd` (or when the pipe or the
    /// thread cannot be made) nothing changes and the printer writes to
    /// stdout as before.
    pub(crate) fn route(args: &mut Arguments) -> Option<Self> {
        if args.logfile.is_some() || std::io::stdout().is_terminal() {
            return None;
        }
        let (reader, writer) = std::io::pipe().ok()?;
        let path = format!("/dev/fd/{}", writer.as_raw_fd());
        if !std::path::Path::new(&path).exists() {
            return None;
        }
        let copier = std::thread::Builder::new()
            .name("stdout-relay".to_owned())
            .spawn(move || copy_lines(reader, std::io::stdout()))
            .ok()?;
        args.logfile = Some(path);
        if let Ok(mut sink) = SINK.lock() {
            *sink = Some(writer);
        }
        Some(Self { copier })
    }

    /// Closes the relay's write end (libtest closed its own when its run
    /// returned) and waits for the copier to reach the end of the pipe.
    pub(crate) fn finish(self) {
        if let Ok(mut sink) = SINK.lock() {
            sink.take();
        }
        let _ = self.copier.join();
    }
}

/// Writes one line of the run's own output: into the relay while one is
/// active, else to stdout. A reader that went away is not an error.
pub(crate) fn write_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    if let Ok(mut sink) = SINK.lock()
        && let Some(writer) = sink.as_mut()
    {
        let _ = writer.write_all(&bytes);
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&bytes).and_then(|()| out.flush());
}

/// Copies whole lines from `reader` to `out` until the pipe ends; after the
/// first failed write it only drains the pipe.
fn copy_lines(reader: PipeReader, mut out: impl Write) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut out_open = true;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if out_open && out.write_all(&line).and_then(|()| out.flush()).is_err() {
            out_open = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader went away after `room` bytes.
    struct ClosesAfter {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for ClosesAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written.len() + buf.len() > self.room {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_is_drained_and_never_blocks_the_writer() {
        let (reader, mut writer) = std::io::pipe().expect("pipe");
        let copier = std::thread::spawn(move || {
            let mut out = ClosesAfter {
                room: 14,
                written: Vec::new(),
            };
            copy_lines(reader, &mut out);
            out.written
        });
        // Far more than a pipe buffer holds: the writer would block forever
        // if the copier stopped reading when its output closed.
        for n in 0..20_000 {
            writeln!(writer, "line {n}").expect("the relay keeps reading");
        }
        drop(writer);
        let written = copier.join().expect("copier ends");
        assert_eq!(written, b"line 0\nline 1\n");
    }
}
