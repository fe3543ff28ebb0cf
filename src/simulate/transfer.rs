//! The firmware's settings image and its MQTT file transfer, as the simulator plays them:
//! `FileDownload` and `FileUpload` of xdrv_02_1_mqtt_file.ino (tasmota-fleet.md §1), with
//! their replies, chunk sizes, error numbers and MD5, and the 4096-byte settings blob of
//! settings.ino: version at 0x008, chip family at 0xF36, CRC32 at 0xFFC, obfuscated by XOR.
//!
//! Written from the firmware's description, not from the client's backup code, so a mistake
//! on one side shows up as a failed transfer in the tests.

use base64::Engine as _;
use md5::Digest as _;

/// `sizeof(TSettings)` on plain builds.
pub const SETTINGS_SIZE: usize = 4096;
/// Where the simulator keeps the settings it can restore (a text block of `key=value` lines);
/// the rest of the image is the firmware's defaults, here zeros.
const TEXT_AT: usize = 0x100;
const TEXT_END: usize = 0xF00;
/// The response buffer of the oldest driver: 1040 bytes, hence 760-byte download chunks.
const RESPONSE_SIZE: usize = 1040;
/// PubSubClient's packet buffer on ESP8266 builds (MQTT_MAX_PACKET_SIZE).
pub const PACKET_SIZE: usize = 1200;

/// CRC32 as `GetCfgCrc32` computes it: reflected 0xEDB88320, initial 0, inverted at the end.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc: u32 = 0;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (mask & 0xEDB8_8320);
        }
    }
    !crc
}

/// `SettingsBufferXor`: from byte 2 on, byte i is XORed with (0x5A + i) & 0xFF. Its own inverse.
pub fn xor(bytes: &mut [u8]) {
    for (i, b) in bytes.iter_mut().enumerate().skip(2) {
        *b ^= (0x5Au32 + i as u32) as u8;
    }
}

/// `13.1.0.1` → 0x0D010001, as the firmware stores VERSION.
pub fn version_number(version: &str) -> u32 {
    let mut parts = version
        .split('(')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0).min(255));
    let mut n = 0;
    for _ in 0..4 {
        n = (n << 8) | parts.next().unwrap_or(0);
    }
    n
}

/// A settings image as the firmware would hand it out: obfuscated, with a valid CRC32.
pub fn image(version: &str, chip: u8, settings: &[(&str, String)]) -> Vec<u8> {
    let mut plain = vec![0u8; SETTINGS_SIZE];
    plain[0..2].copy_from_slice(&0x1234u16.to_le_bytes()); // cfg_holder
    plain[2..4].copy_from_slice(&(SETTINGS_SIZE as u16).to_le_bytes()); // cfg_size
    plain[8..12].copy_from_slice(&version_number(version).to_le_bytes());
    let mut text = String::new();
    for (key, value) in settings {
        text.push_str(&format!("{key}={value}\n"));
    }
    let text = text.as_bytes();
    let n = text.len().min(TEXT_END - TEXT_AT);
    plain[TEXT_AT..TEXT_AT + n].copy_from_slice(&text[..n]);
    plain[0xF36] = chip;
    let crc = crc32(&plain[..SETTINGS_SIZE - 4]);
    plain[SETTINGS_SIZE - 4..].copy_from_slice(&crc.to_le_bytes());
    xor(&mut plain);
    plain
}

/// What `SettingsConfigRestore` accepts: a 4096-byte image that de-obfuscates to a valid CRC32
/// and the running firmware's chip family. Returns its settings text.
pub fn restore(image: &[u8], chip: u8) -> Option<Vec<(String, String)>> {
    if image.len() != SETTINGS_SIZE {
        return None;
    }
    let mut plain = image.to_vec();
    xor(&mut plain);
    let stored = u32::from_le_bytes(plain[SETTINGS_SIZE - 4..].try_into().ok()?);
    if stored != crc32(&plain[..SETTINGS_SIZE - 4]) || plain[0xF36] != chip {
        return None;
    }
    let text = &plain[TEXT_AT..TEXT_END];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let text = String::from_utf8_lossy(&text[..end]);
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The raw bytes of one base64 chunk: `((ResponseSize − 21) / 4) × 3 − 2`.
pub fn download_chunk() -> usize {
    (RESPONSE_SIZE - 21) / 4 * 3 - 2
}

/// `MaxSize` for uploads on this command topic: the packet buffer less the header, the topic
/// and one byte, as raw bytes of base64 text.
pub fn upload_max(command_topic_len: usize) -> usize {
    let room = PACKET_SIZE.saturating_sub(5 + command_topic_len + 1);
    (room.saturating_sub(21) / 4 * 3).saturating_sub(2)
}

pub fn md5_hex(bytes: &[u8]) -> String {
    format!("{:x}", md5::Md5::digest(bytes))
}

pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The one transfer a device has open (the firmware keeps a single global `FMqtt`).
#[derive(Debug, Default, Clone)]
pub enum Session {
    #[default]
    Closed,
    Download {
        id: u8,
        data: Vec<u8>,
        sent: usize,
        binary: bool,
        /// The MD5 has gone out; `Done` follows the next request.
        md5_sent: bool,
    },
    Upload {
        id: u8,
        size: usize,
        data: Vec<u8>,
        /// All bytes are in; the MD5 is awaited.
        complete: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_xor_as_the_firmware_does() {
        // The CRC32 of "123456789" with initial 0 and a final inversion.
        assert_eq!(crc32(b"123456789"), 0xD202_D277);
        let mut bytes = vec![7u8; 10];
        xor(&mut bytes);
        assert_eq!(&bytes[..3], &[7, 7, 7 ^ 0x5C]);
        xor(&mut bytes);
        assert_eq!(bytes, vec![7u8; 10]);
    }

    #[test]
    fn an_image_restores_only_on_its_chip() {
        let img = image("14.3.0", 1, &[("Topic", "plug".into())]);
        assert_eq!(img.len(), SETTINGS_SIZE);
        assert_eq!(version_number("14.3.0"), 0x0E03_0000);
        assert_eq!(
            restore(&img, 1).unwrap(),
            [("Topic".to_string(), "plug".to_string())]
        );
        assert!(restore(&img, 0).is_none(), "another chip family");
        let mut broken = img.clone();
        broken[0x200] ^= 1;
        assert!(restore(&broken, 1).is_none(), "a bad CRC");
        assert_eq!(download_chunk(), 760);
    }
}
