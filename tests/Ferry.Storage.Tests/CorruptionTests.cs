namespace Ferry.Storage.Tests;

/// <summary>
/// Each small file a log trusts at open, damaged every way one can be: each single-bit flip (exhaustively), each
/// truncation, zeroed, deleted. Whatever the damage, the reopened log holds every batch it held (from its true log
/// start), assigns the next offset where it should, and deletes nothing. The indexes are damaged at seeded random
/// places (<c>FERRY_CORRUPTION_RUNS</c>, default 100), every batch must still be read back whole and in order.
/// </summary>
public sealed class CorruptionTests
{
    private const int Batches40 = 40;
    private static readonly LogOptions Small = new() { SegmentBytes = 1500, FsyncOnDurableWrite = false };

    /// <summary>Every way to damage <paramref name="content"/>: single-bit flips, truncations, zeroed, deleted (null).</summary>
    private static IEnumerable<(string What, byte[]? Damaged)> Damages(byte[] content)
    {
        for (int bit = 0; bit < content.Length * 8; bit++)
        {
            var flipped = (byte[])content.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            yield return ($"bit {bit} flipped", flipped);
        }
        for (int length = 0; length < content.Length; length++) yield return ($"truncated to {length}", content[..length]);
        yield return ("zeroed", new byte[content.Length]);
        yield return ("deleted", null);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    private static void Damage(string path, byte[]? damaged)
    {
        if (damaged is null) File.Delete(path);
        else File.WriteAllBytes(path, damaged);
    }

    [Fact]
    public async Task LogStartCheckpoint_AnyDamage_DeletesNothingHealthy()
    {
        using var pristine = new TempDirectory();
        long start;
        await using (var log = Log.Open(pristine.Path, Small))
        {
            for (int i = 0; i < Batches40; i++) log.Append(Batches.Make(i));
            Assert.True(log.SegmentCount >= 4);
            // Inside the second segment, so that the start is checkpointed (a segment base needs no checkpoint).
            start = log.SegmentBaseOffsets[1] + 2;
            log.AdvanceLogStart(start);
        }
        string name = "log-start-offset.checkpoint";
        byte[] content = File.ReadAllBytes(Path.Combine(pristine.Path, name));
        int expectedFirst = (int)(start / 3);

        foreach (var (what, damaged) in Damages(content))
        {
            using var dir = new TempDirectory();
            CopyDirectory(pristine.Path, dir.Path);
            Damage(Path.Combine(dir.Path, name), damaged);
            await using var log = Log.Open(dir.Path, Small);
            Assert.True(log.LogStartOffset <= start, $"{what}: log start {log.LogStartOffset}, was {start}");
            var ids = Batches.ReadToEnd(log, start).Select(Batches.BatchId).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(expectedFirst, Batches40 - expectedFirst)), $"{what}: batches {string.Join(',', ids)}");
        }
    }

    [Fact]
    public async Task CleanShutdownMarker_AnyDamage_SameLog_SameNextOffset()
    {
        using var pristine = new TempDirectory();
        await using (var log = Log.Open(pristine.Path, Small))
        {
            for (int i = 0; i < Batches40; i++) log.Append(Batches.Make(i));
        }
        string name = ".clean-shutdown";
        byte[] content = File.ReadAllBytes(Path.Combine(pristine.Path, name));

        foreach (var (what, damaged) in Damages(content))
        {
            using var dir = new TempDirectory();
            CopyDirectory(pristine.Path, dir.Path);
            Damage(Path.Combine(dir.Path, name), damaged);
            await using var log = Log.Open(dir.Path, Small);
            Assert.True(log.LogEndOffset == Batches40 * 3, $"{what}: log end {log.LogEndOffset}");
            Assert.True(Batches.ReadToEnd(log).Select(Batches.BatchId).SequenceEqual(Enumerable.Range(0, Batches40)), what);
            Assert.True(log.Append(Batches.Make(Batches40)).BaseOffset == Batches40 * 3, what);
        }
    }

    [Fact]
    public async Task Indexes_SeededDamage_EveryBatchReadBackWhole()
    {
        int runs = int.TryParse(Environment.GetEnvironmentVariable("FERRY_CORRUPTION_RUNS"), out int n) ? n : 100;
        using var pristine = new TempDirectory();
        await using (var log = Log.Open(pristine.Path, Small with { IndexIntervalBytes = 200 }))
        {
            for (int i = 0; i < Batches40; i++) log.Append(Batches.Make(i));
        }
        string[] indexes = [.. Directory.GetFiles(pristine.Path, "*.index"), .. Directory.GetFiles(pristine.Path, "*.timeindex")];
        Array.Sort(indexes, StringComparer.Ordinal);

        for (int seed = 0; seed < runs; seed++)
        {
            var random = new Random(seed);
            using var dir = new TempDirectory();
            CopyDirectory(pristine.Path, dir.Path);
            string victim = Path.Combine(dir.Path, Path.GetFileName(indexes[random.Next(indexes.Length)]));
            byte[] content = File.ReadAllBytes(victim);
            var all = Damages(content).ToList();
            var (what, damaged) = all[random.Next(all.Count)];
            Damage(victim, damaged);
            string label = $"seed {seed}: {Path.GetFileName(victim)} {what}";
            try
            {
                await AssertReadsBackAsync(dir.Path, label);
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                throw new Xunit.Sdk.XunitException($"{label}: {ex.Message}");
            }
        }
    }

    private static async Task AssertReadsBackAsync(string path, string label)
    {
        await using var log = Log.Open(path, Small with { IndexIntervalBytes = 200 });
        Assert.True(log.LogEndOffset == Batches40 * 3, $"{label}: log end {log.LogEndOffset}");
        Assert.True(Batches.ReadToEnd(log).Select(Batches.BatchId).SequenceEqual(Enumerable.Range(0, Batches40)), label);
        // Reads from every offset land on the batch that holds it.
        for (long offset = 0; offset < Batches40 * 3; offset++)
        {
            var first = Batches.ReadAll(log.Read(offset, 1))[0];
            Assert.True(Batches.BatchId(first) == offset / 3, $"{label}: offset {offset} read batch {Batches.BatchId(first)}");
        }
    }
}
