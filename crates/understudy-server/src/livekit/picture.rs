//! Draws the synthetic avatar: a face whose mouth opens and closes only while talking, and the
//! marker whose layout `understudy_proto::marker` defines (a state square and a frame counter)
//! so that any client can read both back from decoded pixels.

use understudy_proto::marker::{self, COUNTER_BITS, IDLE_COLOR, Marker, RgbView, TALKING_COLOR};

/// An RGB frame, 3 bytes a pixel, row-major.
#[derive(Debug, Clone)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Picture {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width * height * 3],
        }
    }

    fn put(&mut self, x: usize, y: usize, color: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y * self.width + x) * 3;
            self.rgb[i..i + 3].copy_from_slice(&color);
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, color: [u8; 3]) {
        for y in y0..(y0 + h).min(self.height) {
            for x in x0..(x0 + w).min(self.width) {
                self.put(x, y, color);
            }
        }
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, color: [u8; 3]) {
        if rx <= 0.0 || ry <= 0.0 {
            return;
        }
        let (x0, x1) = ((cx - rx).max(0.0) as usize, (cx + rx) as usize + 1);
        let (y0, y1) = ((cy - ry).max(0.0) as usize, (cy + ry) as usize + 1);
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                if dx * dx + dy * dy <= 1.0 {
                    self.put(x, y, color);
                }
            }
        }
    }

    /// The RGB value at `(x, y)`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// How open the mouth is on frame `index` of the talking loop, 0 to 1: about four syllables a
/// second at 25 fps, never quite shut.
pub fn mouth_opening(index: usize) -> f32 {
    let phase = index as f32 / 25.0 * 4.0 * std::f32::consts::TAU;
    0.15 + 0.85 * (0.5 - 0.5 * phase.cos())
}

/// Frame `index` of the idle or talking loop at `width` x `height`.
pub fn draw(width: usize, height: usize, talking: bool, index: usize) -> Picture {
    let mut p = Picture::new(width, height);
    for y in 0..height {
        let shade = 40 + (y * 60 / height) as u8;
        p.rect(0, y, width, 1, [shade / 2, shade / 2, shade]);
    }
    let (w, h) = (width as f32, height as f32);
    let (cx, cy) = (w / 2.0, h / 2.0);
    p.ellipse(cx, cy, h * 0.30, h * 0.38, [230, 190, 160]);
    p.ellipse(
        cx - h * 0.11,
        cy - h * 0.09,
        h * 0.035,
        h * 0.035,
        [40, 30, 30],
    );
    p.ellipse(
        cx + h * 0.11,
        cy - h * 0.09,
        h * 0.035,
        h * 0.035,
        [40, 30, 30],
    );
    let opening = if talking { mouth_opening(index) } else { 0.0 };
    p.ellipse(
        cx,
        cy + h * 0.17,
        h * 0.10,
        h * 0.012 + h * 0.06 * opening,
        [120, 30, 40],
    );

    let cell = marker::cell_size(height);
    p.rect(
        0,
        0,
        cell * 2,
        cell * 2,
        if talking { TALKING_COLOR } else { IDLE_COLOR },
    );
    for bit in 0..COUNTER_BITS {
        let on = marker::counter_bit(index, bit);
        p.rect(
            bit * cell,
            height - cell,
            cell,
            cell,
            if on { [255, 255, 255] } else { [0, 0, 0] },
        );
    }
    p
}

/// Reads the marker back from a picture (decoded or not).
pub fn read_marker(p: &Picture) -> Option<Marker> {
    marker::read(RgbView {
        width: p.width,
        height: p.height,
        rgb: &p.rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_and_counter_read_back() {
        let idle = draw(640, 360, false, 5);
        let talking = draw(640, 360, true, 17);
        let (idle, talking) = (read_marker(&idle).unwrap(), read_marker(&talking).unwrap());
        assert!(!idle.talking);
        assert!(talking.talking);
        assert_eq!(idle.counter, 5);
        assert_eq!(talking.counter, 17);
    }

    #[test]
    fn the_mouth_moves_only_while_talking() {
        let idle: Vec<_> = (0..25).map(|i| draw(320, 180, false, i)).collect();
        let talking: Vec<_> = (0..25).map(|i| draw(320, 180, true, i)).collect();
        let mouth = |p: &Picture| p.pixel(160, 90 + (180.0 * 0.17) as usize + 6);
        assert!(idle.windows(2).all(|w| mouth(&w[0]) == mouth(&w[1])));
        assert!(talking.iter().any(|p| mouth(p) != mouth(&talking[0])));
    }
}
