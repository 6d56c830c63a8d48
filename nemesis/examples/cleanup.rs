//! Removes what killed runs left behind, as `schism cleanup` will:
//! `cargo run -p schism-nemesis --example cleanup`.

#[tokio::main]
async fn main() -> Result<(), schism_nemesis::Error> {
    let summary = schism_nemesis::cleanup_all().await?;
    println!("{summary}");
    Ok(())
}
