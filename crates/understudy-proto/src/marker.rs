//! The synthetic avatar's marker: what its video frames say about themselves, drawn by the
//! mock and read back by the SDK (and anyone else) from decoded pixels.
//!
//! A frame of height `h` carries, in cells of side [`cell_size`]`(h)`:
//! - a state square of 2 x 2 cells at the top left: [`TALKING_COLOR`] while the avatar talks,
//!   [`IDLE_COLOR`] while it is idle;
//! - a frame counter along the bottom left: 8 cells, most significant bit first, white for 1
//!   and black for 0, counting the frames of the loop being played.
//!
//! The layout survives lossy video coding: every cell is at least 8 pixels wide and is read at
//! its centre with a wide threshold.

/// Colour of the state square while talking (RGB).
pub const TALKING_COLOR: [u8; 3] = [0, 220, 0];
/// Colour of the state square while idle (RGB).
pub const IDLE_COLOR: [u8; 3] = [128, 128, 128];
/// Cells in the frame counter.
pub const COUNTER_BITS: usize = 8;

/// Side of the state square's cells and of one counter cell, for a frame of this height.
pub fn cell_size(height: usize) -> usize {
    (height / 12).max(8)
}

/// What a frame's marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The state square is green: the frame belongs to the talking loop.
    pub talking: bool,
    /// The frame counter, modulo 256.
    pub counter: u8,
}

/// An RGB image to read a marker from: 3 bytes a pixel, row-major, no padding.
#[derive(Debug, Clone, Copy)]
pub struct RgbView<'a> {
    pub width: usize,
    pub height: usize,
    pub rgb: &'a [u8],
}

impl RgbView<'_> {
    fn pixel(&self, x: usize, y: usize) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y * self.width + x) * 3;
        self.rgb.get(i..i + 3).map(|p| [p[0], p[1], p[2]])
    }
}

/// Reads the marker from a frame, or `None` when the image is too small to hold one (or its
/// buffer is shorter than its dimensions say).
pub fn read(image: RgbView<'_>) -> Option<Marker> {
    let cell = cell_size(image.height);
    if image.width < cell * COUNTER_BITS || image.height < cell * 3 {
        return None;
    }
    let [r, g, b] = image.pixel(cell, cell)?;
    let talking = g > 150 && r < 100 && b < 100;
    let mut counter = 0u8;
    for bit in 0..COUNTER_BITS {
        let [r, g, b] = image.pixel(bit * cell + cell / 2, image.height - cell / 2)?;
        let on = (u32::from(r) + u32::from(g) + u32::from(b)) / 3 > 128;
        counter = (counter << 1) | u8::from(on);
    }
    Some(Marker { talking, counter })
}

/// The counter cell `bit` (0 = most significant) of `index`: whether it is white.
pub fn counter_bit(index: usize, bit: usize) -> bool {
    (index >> (COUNTER_BITS - 1 - bit)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paint(width: usize, height: usize, talking: bool, index: usize) -> Vec<u8> {
        let cell = cell_size(height);
        let mut rgb = vec![60u8; width * height * 3];
        let mut fill = |x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]| {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    let i = (y * width + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&c);
                }
            }
        };
        fill(
            0,
            0,
            cell * 2,
            cell * 2,
            if talking { TALKING_COLOR } else { IDLE_COLOR },
        );
        for bit in 0..COUNTER_BITS {
            let c = if counter_bit(index, bit) {
                [255; 3]
            } else {
                [0; 3]
            };
            fill(bit * cell, height - cell, cell, cell, c);
        }
        rgb
    }

    #[test]
    fn a_painted_marker_reads_back() {
        for (talking, index) in [(true, 0), (false, 5), (true, 200), (false, 255)] {
            let rgb = paint(320, 180, talking, index);
            let marker = read(RgbView {
                width: 320,
                height: 180,
                rgb: &rgb,
            })
            .unwrap();
            assert_eq!(
                marker,
                Marker {
                    talking,
                    counter: index as u8
                }
            );
        }
    }

    #[test]
    fn a_short_buffer_or_tiny_image_has_no_marker() {
        assert_eq!(
            read(RgbView {
                width: 320,
                height: 180,
                rgb: &[0; 10]
            }),
            None
        );
        assert_eq!(
            read(RgbView {
                width: 4,
                height: 4,
                rgb: &[0; 48]
            }),
            None
        );
    }
}
