using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Fuzz.Tests;

/// <summary>
/// Every committed corpus and crash file through its target, uninstrumented: no exception the broker's path
/// would not turn into a protocol error, and allocation proportional to the input (at most 10x plus the
/// target's allowance), measured on the second run so that first-time JIT and static set-up are not counted.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in FuzzTargets.All)
        {
            foreach (string file in FuzzFiles.Of("corpus", target.Name).Concat(FuzzFiles.Of("crashes", target.Name)))
            {
                data.Add(target.Name, Path.GetRelativePath(FuzzFiles.FuzzRoot, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Replay_NoUnexpectedException_AllocationProportional(string targetName, string file)
    {
        var target = FuzzTargets.Find(targetName)!;
        byte[] input = File.ReadAllBytes(Path.Combine(FuzzFiles.FuzzRoot, file));

        target.Run(input);
        long allocated = AllocationBound.Measure(target, input);

        long limit = AllocationBound.Limit(target, input.Length);
        Assert.True(allocated <= limit, $"{file}: {allocated} bytes allocated for {input.Length} bytes of input (limit {limit})");
    }

    [Fact]
    public void Corpus_EveryTargetHasSeeds()
    {
        foreach (var target in FuzzTargets.All)
        {
            Assert.NotEmpty(FuzzFiles.Of("corpus", target.Name));
        }
    }

    [Fact]
    public void Corpus_KafkaRequest_CoversEveryApiAndVersion()
    {
        var names = FuzzFiles.Of("corpus", "kafka-request").Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        var missing = ApiKeys.All
            .SelectMany(api => Enumerable.Range(api.MinVersion, api.MaxVersion - api.MinVersion + 1).Select(v => $"{api.Name}-v{v}"))
            .Where(name => !names.Contains(name))
            .ToList();
        Assert.Empty(missing);
    }
}
