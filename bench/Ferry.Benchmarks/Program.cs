using Ferry.Benchmarks.Storage;

// dotnet run -c Release --project bench/Ferry.Benchmarks -- storage [--dir DIR] [--mib N] [--seconds S]
// dotnet run -c Release --project bench/Ferry.Benchmarks -- cleaner [--dir DIR] [--mib N] [--keys K] [--codec none|gzip|snappy|lz4|zstd]
return args.FirstOrDefault() switch
{
    "storage" => await StorageBenchmark.RunAsync(args[1..]),
    "cleaner" => await CleanerBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Ferry.Benchmarks storage [--dir DIR] [--mib N] [--seconds S]");
    Console.Error.WriteLine("       Ferry.Benchmarks cleaner [--dir DIR] [--mib N] [--keys K] [--codec none|gzip|snappy|lz4|zstd]");
    return 2;
}
