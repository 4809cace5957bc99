using Ferry.Benchmarks.Storage;

// dotnet run -c Release --project bench/Ferry.Benchmarks -- storage [--dir DIR] [--mib N] [--seconds S]
return args.FirstOrDefault() switch
{
    "storage" => await StorageBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Ferry.Benchmarks storage [--dir DIR] [--mib N] [--seconds S]");
    return 2;
}
