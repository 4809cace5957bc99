using Ferry.AmqpCodecGen;

// dotnet run --project tools/Ferry.AmqpCodecGen -- [specFile] [outDir]
// Defaults are relative to the repository root (the directory holding Ferry.slnx).
if (args.Length > 2 || args is ["-h" or "--help", ..])
{
    Console.Error.WriteLine("usage: Ferry.AmqpCodecGen [specFile] [outDir]");
    Console.Error.WriteLine($"  specFile  default <repo>/{AmqpCodecGenerator.DefaultSpecPath}");
    Console.Error.WriteLine($"  outDir    default <repo>/{AmqpCodecGenerator.DefaultOutputPath}");
    return 2;
}

string? root = AmqpCodecGenerator.FindRepositoryRoot(Directory.GetCurrentDirectory())
    ?? AmqpCodecGenerator.FindRepositoryRoot(AppContext.BaseDirectory);
if (root is null && args.Length < 2)
{
    Console.Error.WriteLine("Ferry.slnx not found above the current directory; pass specFile and outDir.");
    return 2;
}

string specFile = args.Length > 0 ? Path.GetFullPath(args[0]) : Path.GetFullPath(Path.Combine(root!, AmqpCodecGenerator.DefaultSpecPath));
string outDir = args.Length > 1 ? Path.GetFullPath(args[1]) : Path.GetFullPath(Path.Combine(root!, AmqpCodecGenerator.DefaultOutputPath));
IReadOnlyList<string> written = AmqpCodecGenerator.Generate(specFile, outDir);
Console.WriteLine($"{written.Count} files written to {outDir}");
return 0;
