//! ProjectX DomType: what one market-depth row means.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomType {
    Unknown = 0,
    Ask = 1,
    Bid = 2,
    BestAsk = 3,
    BestBid = 4,
    Trade = 5,
    Reset = 6,
    Low = 7,
    High = 8,
    NewBestBid = 9,
    NewBestAsk = 10,
    Fill = 11,
}

impl DomType {
    /// The gateway's integer code; anything else is `Unknown`.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Ask,
            2 => Self::Bid,
            3 => Self::BestAsk,
            4 => Self::BestBid,
            5 => Self::Trade,
            6 => Self::Reset,
            7 => Self::Low,
            8 => Self::High,
            9 => Self::NewBestBid,
            10 => Self::NewBestAsk,
            11 => Self::Fill,
            _ => Self::Unknown,
        }
    }
}
