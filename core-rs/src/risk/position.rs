//! A net position with its average price; fills realize P&L against the average.

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Position {
    /// Signed: > 0 long, < 0 short.
    pub quantity: i64,
    pub average_price: f64,
}

impl Position {
    /// Applies a fill of `signed_qty` at `price`; returns the realized P&L in price points times
    /// contracts (multiply by the point value for dollars).
    pub fn apply(&mut self, signed_qty: i64, price: f64) -> f64 {
        if signed_qty == 0 {
            return 0.0;
        }
        let old = self.quantity;
        if old == 0 || old.signum() == signed_qty.signum() {
            let new = old + signed_qty;
            self.average_price = (self.average_price * old.abs() as f64
                + price * signed_qty.abs() as f64)
                / new.abs() as f64;
            self.quantity = new;
            return 0.0;
        }
        let closed = signed_qty.abs().min(old.abs());
        let realized = (price - self.average_price) * closed as f64 * old.signum() as f64;
        self.quantity = old + signed_qty;
        if self.quantity == 0 {
            self.average_price = 0.0;
        } else if self.quantity.signum() != old.signum() {
            self.average_price = price; // flipped: the rest opened at this fill
        }
        realized
    }

    /// Open P&L in points times contracts at `mark`.
    #[inline]
    pub fn open_points(&self, mark: f64) -> f64 {
        if self.quantity == 0 {
            0.0
        } else {
            (mark - self.average_price) * self.quantity as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_in_realizes_out_and_flips() {
        let mut p = Position::default();
        assert_eq!(p.apply(2, 100.0), 0.0);
        assert_eq!(p.apply(2, 104.0), 0.0);
        assert_eq!(p.average_price, 102.0);
        assert_eq!(p.apply(-1, 105.0), 3.0);
        assert_eq!(p.quantity, 3);
        assert_eq!(p.apply(-5, 101.0), -3.0); // 3 closed at -1 each, 2 opened short
        assert_eq!((p.quantity, p.average_price), (-2, 101.0));
        assert_eq!(p.open_points(100.0), 2.0);
        assert_eq!(p.apply(2, 99.0), 4.0);
        assert_eq!(p, Position::default());
    }
}
