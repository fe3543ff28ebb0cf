//! A device's settings file (`.dmp`) as tasctl checks it before a restore: the 4096-byte
//! `TSettings` obfuscated from byte 2 on with `(0x5A + i) & 0xFF`, its CRC32 in the last four
//! bytes, the firmware version at 0x008 and the chip family at 0xF36 (tasmota-fleet.md §1.6).

use anyhow::{Result, bail};

/// The settings area a restore over MQTT accepts at most.
pub const SIZE: usize = 4096;

/// What a settings file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// `14.3.0` or `13.1.0.1`.
    pub version: String,
    /// Settings byte 0xF36: 0 ESP8266, 1 ESP32, 2 S3, 3 S2, 4 C3, 5 C2, 6 C6, 7 P4, 8 C5.
    pub chip: u8,
}

/// The chip family's name, for messages.
pub fn chip_name(chip: u8) -> &'static str {
    match chip {
        0 => "ESP8266",
        1 => "ESP32",
        2 => "ESP32-S3",
        3 => "ESP32-S2",
        4 => "ESP32-C3",
        5 => "ESP32-C2",
        6 => "ESP32-C6",
        7 => "ESP32-P4",
        8 => "ESP32-C5",
        _ => "an unknown chip",
    }
}

/// The chip family a device reports in StatusFWR's `Hardware` (`ESP8266EX`, `ESP8285N08`,
/// `ESP32-S3`, `ESP32-D0WD-V3`), as settings byte 0xF36 numbers it.
pub fn chip_of_hardware(hardware: &str) -> Option<u8> {
    let h = hardware.to_ascii_uppercase();
    if h.starts_with("ESP8266") || h.starts_with("ESP8285") {
        return Some(0);
    }
    let variants = [
        ("ESP32-S3", 2),
        ("ESP32-S2", 3),
        ("ESP32-C3", 4),
        ("ESP32-C2", 5),
        ("ESP32-C6", 6),
        ("ESP32-P4", 7),
        ("ESP32-C5", 8),
    ];
    for (prefix, chip) in variants {
        if h.starts_with(prefix) {
            return Some(chip);
        }
    }
    h.starts_with("ESP32").then_some(1)
}

/// CRC32 as the firmware's `GetCfgCrc32`: reflected 0xEDB88320, starting at 0, inverted.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Reads a settings file the way `SettingsConfigRestore` will: refuses what the device would.
pub fn check(bytes: &[u8]) -> Result<Dump> {
    if bytes.len() != SIZE {
        bail!(
            "it is {} bytes, not the {SIZE} of a settings file (a dump of a file-system build, with driver settings, cannot be restored over MQTT)",
            bytes.len()
        );
    }
    let plain: Vec<u8> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| if i < 2 { *b } else { b ^ (0x5A + i) as u8 })
        .collect();
    let stored = u32::from_le_bytes([
        plain[SIZE - 4],
        plain[SIZE - 3],
        plain[SIZE - 2],
        plain[SIZE - 1],
    ]);
    if stored != crc32(&plain[..SIZE - 4]) {
        bail!("it is not a Tasmota settings dump, or it is damaged (its CRC32 does not match)");
    }
    Ok(Dump {
        version: version_text(u32::from_le_bytes([
            plain[8], plain[9], plain[10], plain[11],
        ])),
        chip: plain[0xF36],
    })
}

/// 0x0D010001 → `13.1.0.1`; 0x0E030000 → `14.3.0`.
fn version_text(n: u32) -> String {
    let [a, b, c, d] = n.to_be_bytes();
    if d == 0 {
        format!("{a}.{b}.{c}")
    } else {
        format!("{a}.{b}.{c}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_s_image_checks_out() {
        // The simulator builds images with its own code; they must pass this independent check.
        let image = crate::simulate::transfer::image("13.1.0.1", 1, &[("Topic", "x".into())]);
        assert_eq!(
            check(&image).unwrap(),
            Dump {
                version: "13.1.0.1".into(),
                chip: 1
            }
        );
        let mut damaged = image.clone();
        damaged[100] ^= 0x40;
        assert!(check(&damaged).unwrap_err().to_string().contains("CRC32"));
        assert!(
            check(&image[..100])
                .unwrap_err()
                .to_string()
                .contains("100 bytes")
        );
        assert_eq!(crc32(b"123456789"), 0xD202_D277);
    }

    #[test]
    fn chips_from_hardware_names() {
        for (hardware, chip) in [
            ("ESP8266EX", Some(0)),
            ("ESP8285N08", Some(0)),
            ("ESP32-D0WD-V3", Some(1)),
            ("ESP32-S3", Some(2)),
            ("ESP32-C3", Some(4)),
            ("RP2040", None),
        ] {
            assert_eq!(chip_of_hardware(hardware), chip, "{hardware}");
        }
    }
}
