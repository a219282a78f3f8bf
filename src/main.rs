// mimalloc instead of glibc's malloc: a storefront cache hit allocates its answer, the Redis
// replies and the figures' maps, and the profile put malloc/free at 13% of a hit (README, "The
// storefront cache").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    huakai::app::cli::main()
}
