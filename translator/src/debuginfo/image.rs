//! The build id of a kernel image file, for checking debuginfo against a
//! kernel that is not running (`stap -r RELEASE`).
//!
//! Input: a kernel image: an ELF `vmlinux`, or an x86 `bzImage`
//! (`/boot/vmlinuz-RELEASE`) whose payload is an LZ4 "legacy" stream (what
//! Debian's kernels use; the decoder is here, ~60 lines, rather than a new
//! dependency). Output: the GNU build id of the vmlinux inside, or `None`
//! when the image uses another compression (gzip, xz, zstd).
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
    let payload = data.get(start..start + len as usize).ok_or_else(|| bad("payload outside the file"))?;
    if !payload.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
        return Ok(None); // gzip, xz, zstd, ...: not decoded here
    }
    let vmlinux = lz4_legacy(payload)?;
    image_build_id(&vmlinux)
}

/// Decodes an LZ4 legacy stream (magic, then blocks of `u32` compressed
/// size + LZ4 block; the kernel appends the 4-byte decompressed size).
pub fn lz4_legacy(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
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

/// Decodes one LZ4 block, appending to `out` (matches may reach back into
/// earlier blocks, as the legacy format allows).
fn lz4_block(b: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut i = 0;
    let byte = |i: &mut usize| -> Result<u8> {
        let v = *b.get(*i).ok_or_else(|| bad("truncated LZ4 sequence"))?;
        *i += 1;
        Ok(v)
    };
    let length = |i: &mut usize, mut n: usize| -> Result<usize> {
        if n == 15 {
            loop {
                let x = byte(i)?;
                n += x as usize;
                if x != 255 {
                    break;
                }
            }
        }
        Ok(n)
    };
    while i < b.len() {
        let token = byte(&mut i)?;
        let lit = length(&mut i, (token >> 4) as usize)?;
        let lits = b.get(i..i + lit).ok_or_else(|| bad("LZ4 literals past the block"))?;
        out.extend_from_slice(lits);
        i += lit;
        if i >= b.len() {
            break; // the last sequence has literals only
        }
        let off = byte(&mut i)? as usize | (byte(&mut i)? as usize) << 8;
        let mlen = length(&mut i, (token & 15) as usize)? + 4;
        if off == 0 || off > out.len() {
            return Err(bad("LZ4 match offset out of range"));
        }
        if out.len() + mlen > MAX_OUT {
            return Err(bad("decompressed image too large"));
        }
        let from = out.len() - off;
        for k in 0..mlen {
            let v = out[from + k];
            out.push(v);
        }
    }
    if out.len() > MAX_OUT {
        return Err(bad("decompressed image too large"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
