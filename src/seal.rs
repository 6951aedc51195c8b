//! Sealed probes: `healthprobe seal OUT …` writes a copy of this executable with a command line
//! sealed into it, and the copy runs that one check and nothing else (src/cli.rs has the verb
//! and the sealed run; this module has the sealed data).
//!
//! Where the data lives: the binary carries a 4 KiB slot in its read-only data ([`SLOT`], a
//! `static` of src/main.rs): a magic, then zeros. `seal` finds the magic in its own file, writes
//! the command line into the copy's bytes of the slot and leaves every other byte as it was, so
//! a sealed copy costs no file read at start (the slot is mapped with the rest of the binary),
//! its size is the unsealed one, and the sections that tools read (`cargo auditable`'s
//! `.dep-v0`) are untouched. The same binary and arguments give the same bytes.
//!
//! The slot: `MAGIC` (16 bytes), a state word (8), the payload's length (4, LE), FNV-1a 64 of
//! magic, state, length and payload (8, LE), the payload. The magic is only ever read from the
//! slot itself (see [`magic`]), so the file holds it once. The state word is all zeros in an unsealed
//! binary and [`SEALED`] (no zero byte) in a sealed one, so no one-byte change makes a sealed
//! copy look unsealed: a state other than zero is sealed, and a sealed slot that does not decode
//! in full is damaged, which runs nothing. FNV-1a over the same length tells any one changed byte
//! (each step is a bijection of the hash state); the slot guards against damage, not against
//! someone who can write the file, who can write any binary there.
//!
//! The payload: the arguments after `seal OUT` as given (`${VAR}` not expanded), the value of
//! each variable they read when sealing, and the names kept for run time. Each list is a count
//! (u16 LE) and its strings, each a length (u16 LE) and UTF-8 bytes; a recorded value has a
//! byte before it, 1 set and 0 unset.

use std::fmt;

/// Bytes in the slot: header and payload.
pub const SLOT_LEN: usize = 4096;
/// The magic that opens the slot, by which `seal` finds it in the file.
const MAGIC: [u8; 16] = *b"healthprobe:seal";
/// The state word of a sealed slot, format 1. No byte of it is zero.
const SEALED: [u8; 8] = *b"sealed01";
const STATE: usize = 16;
const LENGTH: usize = STATE + 8;
const HASH: usize = LENGTH + 4;
const PAYLOAD: usize = HASH + 8;
/// The longest payload a slot holds.
pub(crate) const CAPACITY: usize = SLOT_LEN - PAYLOAD;

/// An unsealed slot, as the binary is built: the magic, then zeros.
pub const SLOT: [u8; SLOT_LEN] = {
    let mut slot = [0; SLOT_LEN];
    let mut i = 0;
    while i < MAGIC.len() {
        slot[i] = MAGIC[i];
        i += 1;
    }
    slot
};

/// A sealed command line.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// The arguments after `seal OUT`, `${VAR}` as written.
    pub args: Vec<String>,
    /// Each variable the arguments read when sealing, and its value then (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
    /// Variables read from the environment at run time.
    pub kept: Vec<String>,
}

impl fmt::Debug for Sealed {
    // The recorded values may be secrets (`${DB_PASSWORD}` in a URL): names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Sealed")
            .field("args", &self.args.len())
            .field("env", &names)
            .field("kept", &self.kept)
            .finish()
    }
}

/// What a binary's slot says.
#[derive(Debug)]
pub(crate) enum State {
    Unsealed,
    Sealed(Sealed),
    /// Sealed, but the data does not decode: why.
    Damaged(&'static str),
}

/// Reads the slot through `byte` (byte `i` of the running binary's slot: src/main.rs reads it
/// with volatile loads, since the compiler would otherwise fold the zeros it was built with).
/// An unsealed binary reads the state word alone.
pub(crate) fn read(byte: impl Fn(usize) -> u8) -> State {
    if (STATE..LENGTH).all(|i| byte(i) == 0) {
        return State::Unsealed;
    }
    let len = u32::from_le_bytes([
        byte(LENGTH),
        byte(LENGTH + 1),
        byte(LENGTH + 2),
        byte(LENGTH + 3),
    ]);
    // One allocation, header and payload: this runs before every sealed check.
    let slot: Vec<u8> = (0..PAYLOAD + (len as usize).min(CAPACITY))
        .map(byte)
        .collect();
    match decode(&slot) {
        Ok(sealed) => State::Sealed(sealed),
        Err(why) => State::Damaged(why),
    }
}

/// Decodes a sealed slot (at least its header and payload; bytes after the payload are not
/// read). Every inconsistency is an error: nothing partial is returned.
pub(crate) fn decode(slot: &[u8]) -> Result<Sealed, &'static str> {
    if slot.len() < PAYLOAD {
        return Err("sealed data cut short");
    }
    if slot[STATE..LENGTH] != SEALED {
        return Err("unknown seal state");
    }
    let len = u32::from_le_bytes(slot[LENGTH..HASH].try_into().unwrap()) as usize;
    if len > CAPACITY || slot.len() < PAYLOAD + len {
        return Err("sealed length out of range");
    }
    let payload = &slot[PAYLOAD..PAYLOAD + len];
    let hash = u64::from_le_bytes(slot[HASH..PAYLOAD].try_into().unwrap());
    if hash != fnv1a(&[&slot[..HASH], payload]) {
        return Err("checksum mismatch");
    }
    let mut r = Reader(payload);
    let args = r.strings()?;
    let mut env = Vec::new();
    for _ in 0..r.count()? {
        let name = r.string()?;
        let value = match r.byte()? {
            0 => None,
            1 => Some(r.string()?),
            _ => return Err("bad value flag"),
        };
        env.push((name, value));
    }
    let kept = r.strings()?;
    if !r.0.is_empty() {
        return Err("bytes after the payload");
    }
    Ok(Sealed { args, env, kept })
}

/// The slot of a copy sealed with `sealed`, opening with `magic` (see [`magic`]); an error says
/// why it does not fit.
pub(crate) fn encode(sealed: &Sealed, magic: &[u8]) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    put_strings(&mut payload, &sealed.args)?;
    put_count(&mut payload, sealed.env.len())?;
    for (name, value) in &sealed.env {
        put_string(&mut payload, name)?;
        match value {
            None => payload.push(0),
            Some(v) => {
                payload.push(1);
                put_string(&mut payload, v)?;
            }
        }
    }
    put_strings(&mut payload, &sealed.kept)?;
    if payload.len() > CAPACITY {
        return Err(format!(
            "the sealed command line takes {} bytes, more than the {CAPACITY} a sealed copy holds",
            payload.len()
        ));
    }
    let mut slot = vec![0; SLOT_LEN];
    slot[..STATE].copy_from_slice(magic);
    slot[STATE..LENGTH].copy_from_slice(&SEALED);
    slot[LENGTH..HASH].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let hash = fnv1a(&[&slot[..HASH], &payload]);
    slot[HASH..PAYLOAD].copy_from_slice(&hash.to_le_bytes());
    slot[PAYLOAD..PAYLOAD + payload.len()].copy_from_slice(&payload);
    Ok(slot)
}

/// Writes `slot` over the unsealed slot in `exe` (this executable's bytes), whose slot opens
/// with `magic` (read from the running binary, so that the magic is in the file only once).
pub(crate) fn patch(exe: &mut [u8], magic: &[u8], slot: &[u8]) -> Result<(), &'static str> {
    let mut found = exe
        .windows(magic.len())
        .enumerate()
        .filter(|(_, w)| *w == magic)
        .map(|(i, _)| i);
    let (Some(at), None) = (found.next(), found.next()) else {
        return Err("this executable has no seal slot (or more than one)");
    };
    let region = exe
        .get_mut(at..at + SLOT_LEN)
        .ok_or("this executable's seal slot is cut short")?;
    if region[STATE..].iter().any(|&b| b != 0) {
        return Err("this executable is sealed already");
    }
    region.copy_from_slice(slot);
    Ok(())
}

/// The running binary's magic, as `seal` searches for it and writes it. Read from the slot, never
/// from [`MAGIC`]: code that used the constant would put a second copy of it in the binary,
/// and `seal` must find exactly one.
pub(crate) fn magic(byte: impl Fn(usize) -> u8) -> Vec<u8> {
    (0..MAGIC.len()).map(byte).collect()
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn put_count(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    let n = u16::try_from(n).map_err(|_| "too many arguments to seal".to_string())?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    put_count(out, s.len())?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_strings(out: &mut Vec<u8>, list: &[String]) -> Result<(), String> {
    put_count(out, list.len())?;
    list.iter().try_for_each(|s| put_string(out, s))
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], &'static str> {
        if self.0.len() < n {
            return Err("sealed data cut short");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn count(&mut self) -> Result<usize, &'static str> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }

    fn string(&mut self) -> Result<String, &'static str> {
        let n = self.count()?;
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| "sealed text is not UTF-8")
    }

    fn strings(&mut self) -> Result<Vec<String>, &'static str> {
        (0..self.count()?).map(|_| self.string()).collect()
    }
}

/// For the fuzzer: decodes a slot's bytes, as a sealed copy does at start.
#[doc(hidden)]
pub fn fuzz_decode(slot: &[u8]) -> bool {
    decode(slot).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sealed {
        Sealed {
            args: vec![
                "-t".into(),
                "2s".into(),
                "http://127.0.0.1:${PORT}/health".into(),
                "--".into(),
                "/app".into(),
            ],
            env: vec![
                ("TOKEN".into(), Some("s3cr3t".into())),
                ("UNSET".into(), None),
            ],
            kept: vec!["PORT".into()],
        }
    }

    #[test]
    fn round_trip() {
        let slot = encode(&sample(), &MAGIC).unwrap();
        assert_eq!(slot.len(), SLOT_LEN);
        assert_eq!(decode(&slot).unwrap(), sample());
        match read(|i| slot[i]) {
            State::Sealed(s) => assert_eq!(s, sample()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn same_input_same_bytes() {
        assert_eq!(
            encode(&sample(), &MAGIC).unwrap(),
            encode(&sample(), &MAGIC).unwrap()
        );
    }

    #[test]
    fn unsealed_slot_reads_unsealed() {
        assert!(matches!(read(|i| SLOT[i]), State::Unsealed));
    }

    #[test]
    fn every_truncation_is_damage() {
        let slot = encode(&sample(), &MAGIC).unwrap();
        let used = PAYLOAD + u32::from_le_bytes(slot[LENGTH..HASH].try_into().unwrap()) as usize;
        for n in 0..used {
            assert!(
                decode(&slot[..n]).is_err(),
                "decoded a slot cut to {n} bytes"
            );
        }
        assert!(decode(&slot[..used]).is_ok());
    }

    #[test]
    fn every_changed_byte_is_damage_never_unsealed() {
        let slot = encode(&sample(), &MAGIC).unwrap();
        let used = PAYLOAD + u32::from_le_bytes(slot[LENGTH..HASH].try_into().unwrap()) as usize;
        for i in 0..used {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = slot.clone();
                bad[i] ^= flip;
                assert!(
                    matches!(read(|j| bad[j]), State::Damaged(_)),
                    "byte {i} ^ {flip:#x} was not taken for damage"
                );
            }
        }
    }

    #[test]
    fn too_long_is_refused() {
        let mut s = sample();
        s.args.push("x".repeat(CAPACITY));
        assert!(encode(&s, &MAGIC).unwrap_err().contains("more than the"));
    }

    #[test]
    fn patch_finds_the_one_slot() {
        let mut exe = b"ELF....".to_vec();
        exe.extend_from_slice(&SLOT);
        exe.extend_from_slice(b"....end");
        let slot = encode(&sample(), &MAGIC).unwrap();
        patch(&mut exe, &MAGIC, &slot).unwrap();
        assert_eq!(&exe[7..7 + SLOT_LEN], &slot[..]);
        assert!(exe.ends_with(b"....end"));
        assert_eq!(
            patch(&mut exe, &MAGIC, &slot),
            Err("this executable is sealed already")
        );
        let mut two = [SLOT, SLOT].concat();
        assert!(patch(&mut two, &MAGIC, &slot).is_err());
        let mut short = SLOT[..100].to_vec();
        assert!(patch(&mut short, &MAGIC, &slot).is_err());
    }

    #[test]
    fn debug_holds_no_values() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
