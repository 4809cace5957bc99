using Ferry.KafkaCodecGen;

// Usage: dotnet run --project tools/Ferry.KafkaCodecGen -- [specDir] [outDir]
// Defaults are relative to the repository root (the directory holding Ferry.slnx).
string root = KafkaCodecGenerator.FindRepositoryRoot(Environment.CurrentDirectory)
    ?? KafkaCodecGenerator.FindRepositoryRoot(AppContext.BaseDirectory)
    ?? Environment.CurrentDirectory;
string specDir = args.Length > 0 ? args[0] : Path.Combine(root, "..", "shared", "protocol-specs", "kafka-messages");
string outDir = args.Length > 1 ? args[1] : Path.Combine(root, "src", "Ferry.Kafka", "Protocol", "Generated");

if (!Directory.Exists(specDir))
{
    Console.Error.WriteLine($"Schema directory not found: {Path.GetFullPath(specDir)}");
    return 2;
}

IReadOnlyList<string> written = KafkaCodecGenerator.Generate(specDir, outDir);
Console.WriteLine($"Wrote {written.Count} files to {Path.GetFullPath(outDir)}");
return 0;
