//! The build id of a kernel image file, for checking debuginfo against a
//! kernel that is not running (`stap -r RELEASE`).
//!
//! Input: a kernel image: an ELF `vmlinux`, or an x86 `bzImage`
//! (`/boot/vmlinuz-RELEASE`) whose payload is an LZ4 "legacy" stream
//! (Debian's 6.1 kernels; its blocks are decoded by lz4_flex) or a zstd
//! frame (Debian's 6.12 kernels; decoded by ruzstd). Output: the vmlinux
//! ELF inside ([`image_vmlinux`]) and its GNU build id, or `None` when
//! the image uses another compression (gzip, xz).
//! Invariants: every read is bounds-checked; output size is capped at
//! 512 MiB; malformed input gives an error, never a panic.

use super::{DebugInfoError, Result};
use object::Object;

const MAX_OUT: usize = 512 << 20;

fn bad(why: &str) -> DebugInfoError {
    DebugInfoError::Io(format!("kernel image: {why}"))
}

/// The build id of an ELF or bzImage kernel image held in `data`.
pub fn image_build_id(data: &[u8]) -> Result<Option<Vec<u8>>> {
    if data.starts_with(b"\x7fELF") {
        let obj = object::File::parse(data).map_err(|e| bad(&e.to_string()))?;
        return Ok(obj.build_id().ok().flatten().map(|b| b.to_vec()));
    }
    if is_zstd(data) {
        // Decoding 60 MB of zstd takes seconds: a build id is not worth it
        // (the trace events and BTF are cached, see `trace_events`).
        return Ok(None);
    }
    match image_vmlinux(data)? {
        Some(vmlinux) => image_build_id(&vmlinux),
        None => Ok(None),
    }
}

/// The payload of a bzImage: `(start, length)` in `data`.
fn payload(data: &[u8]) -> Result<&[u8]> {
    if data.get(0x202..0x206) != Some(b"HdrS") {
        return Err(bad("neither ELF nor bzImage"));
    }
    let u32_at = |p: usize| -> Option<u32> { data.get(p..p + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) };
    let setup_sects = match data.get(0x1f1) {
        Some(0) | None => 4,
        Some(&n) => n as usize,
    };
    let (off, len) = (u32_at(0x248).ok_or_else(|| bad("short header"))?, u32_at(0x24c).ok_or_else(|| bad("short header"))?);
    let start = (setup_sects + 1) * 512 + off as usize;
    data.get(start..start + len as usize).ok_or_else(|| bad("payload outside the file"))
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn is_zstd(data: &[u8]) -> bool {
    payload(data).is_ok_and(|p| p.starts_with(&ZSTD_MAGIC))
}

/// The vmlinux ELF inside a bzImage held in `data` (LZ4 legacy or zstd
/// payload); `None` for other compressions.
pub fn image_vmlinux(data: &[u8]) -> Result<Option<Vec<u8>>> {
    let payload = payload(data)?;
    if payload.starts_with(&ZSTD_MAGIC) {
        return zstd(payload).map(Some);
    }
    if !payload.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
        return Ok(None); // gzip, xz, ...: not decoded here
    }
    lz4_legacy(payload).map(Some)
}

/// Decodes the zstd frame of a bzImage payload (the kernel appends the
/// 4-byte decompressed size after the frame, which the decoder ignores):
/// with the `zstd` program when there is one (ten times faster than
/// ruzstd, which decodes otherwise).
pub fn zstd(data: &[u8]) -> Result<Vec<u8>> {
    if let Some(out) = zstd_cli(data) {
        return Ok(out);
    }
    zstd_rust(data)
}

fn zstd_cli(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let frame = data.get(..data.len().checked_sub(4)?)?;
    let mut child = Command::new("zstd").args(["-d", "-c", "-q"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    let frame = frame.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&frame));
    let out = child.wait_with_output().ok()?;
    let wrote = writer.join().ok()?.is_ok();
    (wrote && out.status.success() && out.stdout.len() <= MAX_OUT && out.stdout.starts_with(b"\x7fELF")).then_some(out.stdout)
}

/// [`zstd`] in Rust.
pub fn zstd_rust(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut src = data;
    let dec = ruzstd::StreamingDecoder::new(&mut src).map_err(|e| bad(&format!("bad zstd frame: {e}")))?;
    let mut out = Vec::new();
    dec.take(MAX_OUT as u64 + 1).read_to_end(&mut out).map_err(|e| bad(&format!("bad zstd data: {e}")))?;
    if out.len() > MAX_OUT {
        return Err(bad("decompressed image too large"));
    }
    Ok(out)
}

/// Decodes an LZ4 legacy stream (magic, then blocks of `u32` compressed
/// size + LZ4 block; the kernel appends the 4-byte decompressed size).
pub fn lz4_legacy(data: &[u8]) -> Result<Vec<u8>> {
    // The trailing size, when sane, sizes the buffer once (no regrowth).
    let hint = data.len().checked_sub(4).and_then(|p| data.get(p..)).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize).unwrap_or(0);
    let mut out = Vec::with_capacity(hint.min(MAX_OUT) + LEGACY_BLOCK);
    let mut p = 4;
    while p + 4 < data.len() {
        let n = u32::from_le_bytes([data[p], data[p + 1], data[p + 2], data[p + 3]]) as usize;
        if n == 0x184c_2102 {
            p += 4; // a concatenated stream
            continue;
        }
        p += 4;
        let block = data.get(p..p + n).ok_or_else(|| bad("truncated LZ4 block"))?;
        lz4_block(block, &mut out)?;
        p += n;
    }
    Ok(out)
}

/// The largest block of the legacy format, decompressed.
const LEGACY_BLOCK: usize = 8 << 20;

/// Decodes one LZ4 block with lz4_flex, appending to `out` (the 64 KiB
/// before it are its dictionary: matches may reach back into earlier
/// blocks, as the legacy format allows).
fn lz4_block(b: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    if start + LEGACY_BLOCK > MAX_OUT + LEGACY_BLOCK {
        return Err(bad("decompressed image too large"));
    }
    out.resize(start + LEGACY_BLOCK, 0);
    let (prev, rest) = out.split_at_mut(start);
    let dict = &prev[start.saturating_sub(64 << 10)..];
    let n = lz4_flex::block::decompress_into_with_dict(b, rest, dict);
    let n = match n {
        Ok(n) => n,
        Err(e) => {
            out.truncate(start);
            return Err(bad(&format!("bad LZ4 block: {e}")));
        }
    };
    out.truncate(start + n);
    if out.len() > MAX_OUT {
        return Err(bad("decompressed image too large"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy stream of independently compressed blocks, as the kernel
    /// build writes it (magic, `u32` size + block each, then the total).
    #[test]
    fn legacy_streams_of_blocks_decode() {
        let input: Vec<u8> = (0..3_000_000u32).flat_map(|i| ((i * 31) % 253).to_le_bytes()).collect();
        let mut packed = vec![0x02, 0x21, 0x4c, 0x18];
        for chunk in input.chunks(LEGACY_BLOCK) {
            let b = lz4_flex::block::compress(chunk);
            packed.extend_from_slice(&(b.len() as u32).to_le_bytes());
            packed.extend_from_slice(&b);
        }
        packed.extend_from_slice(&(input.len() as u32).to_le_bytes());
        assert!(input.len() > LEGACY_BLOCK, "more than one block");
        assert_eq!(lz4_legacy(&packed).unwrap(), input);
        let mut bad_size = packed.clone();
        bad_size[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(lz4_legacy(&bad_size).is_err());
    }

    /// The testbed's bzImage (when the testbed is set up) holds the vmlinux
    /// its -dbg package describes: both have the same build id.
    #[test]
    fn the_testbed_bzimage_matches_its_debuginfo() {
        let Ok(cache) = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed) else { return };
        let Ok(entries) = std::fs::read_dir(cache.join("dbg")) else { return };
        for e in entries.flatten() {
            let rel = e.file_name().to_string_lossy().into_owned();
            let vmlinux = e.path().join(format!("usr/lib/debug/boot/vmlinux-{rel}"));
            let bz = cache.join(&rel).join(format!("boot/vmlinuz-{rel}"));
            let (Ok(v), Ok(b)) = (std::fs::File::open(&vmlinux), std::fs::read(&bz)) else { continue };
            // SAFETY: the cache file is not modified while the test reads it.
            let v = unsafe { memmap2::Mmap::map(&v) }.unwrap();
            let want = image_build_id(&v).unwrap();
            assert!(want.is_some(), "{} has a build id", vmlinux.display());
            assert_eq!(image_build_id(&b).unwrap(), want, "{}", bz.display());
        }
    }

    #[test]
    fn lz4_round_trip_with_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<u8> = (0..300_000u32).flat_map(|i| ((i * 7919) % 251).to_le_bytes()).collect();
        let src = dir.path().join("in");
        std::fs::write(&src, &input).unwrap();
        let dst = dir.path().join("out.lz4");
        let st = std::process::Command::new("lz4").args(["-l", "-9", "-q", "-f"]).arg(&src).arg(&dst).status();
        match st {
            Ok(s) if s.success() => {}
            _ => {
                eprintln!("note: lz4 CLI not available; skipping");
                return;
            }
        }
        let packed = std::fs::read(&dst).unwrap();
        assert_eq!(lz4_legacy(&packed).unwrap(), input);
        // Corrupt streams fail cleanly.
        for cut in [5, 9, packed.len() / 2] {
            let _ = lz4_legacy(&packed[..cut]);
        }
        let mut flipped = packed.clone();
        for k in (8..flipped.len()).step_by(97) {
            flipped[k] ^= 0xa5;
        }
        let _ = lz4_legacy(&flipped);
        assert!(image_build_id(b"not a kernel").is_err());
    }
}
