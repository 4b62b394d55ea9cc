# SPI NOR model: reading 16 MiB through the byte interface against a plain memory copy.
# Goal (issue 2, item 5): the model reaches >= 25% of memcpy throughput.
cargo run --quiet --release --locked -p norrec-nor --example read_throughput
