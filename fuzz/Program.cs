using Ferry.Fuzz;
using SharpFuzz;

// Ferry.Fuzz TARGET             under libfuzzer-dotnet (fuzz/run.sh): SharpFuzz's libFuzzer loop
// Ferry.Fuzz TARGET FILE...     runs each file once, uninstrumented (a crash file, a corpus entry)
// Ferry.Fuzz list               the targets' names
// Ferry.Fuzz seeds DIR          writes the seed corpus (fuzz/corpus) from the codecs
if (args is ["seeds", var root])
{
    Ferry.Fuzz.Seeds.SeedCorpus.Write(root);
    return 0;
}
if (args.Length == 0 || args[0] == "list")
{
    foreach (var each in FuzzTargets.All) Console.WriteLine(each.Name);
    return args.Length == 0 ? 2 : 0;
}
var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"Ferry.Fuzz: no target '{args[0]}'; `Ferry.Fuzz list` names them.");
    return 2;
}
if (args.Length == 1)
{
    if (Environment.GetEnvironmentVariable("__LIBFUZZER_SHM_ID") is null)
    {
        Console.Error.WriteLine("Ferry.Fuzz: run under libfuzzer-dotnet (fuzz/run.sh), or name input files to replay.");
        return 2;
    }
    Fuzzer.LibFuzzer.Run(input => AllocationBound.RunChecked(target, input));
    return 0;
}
foreach (string file in args[1..])
{
    AllocationBound.RunChecked(target, File.ReadAllBytes(file));
    Console.WriteLine($"{file}: ok");
}
return 0;
