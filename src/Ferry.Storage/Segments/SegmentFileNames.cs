using System.Globalization;

namespace Ferry.Storage.Segments;

/// <summary>
/// A segment's files are named by its base offset, zero-padded to 20 digits so that names sort as
/// offsets do: <c>00000000000000000000.log</c>, <c>.index</c>, <c>.timeindex</c> (Kafka's layout).
/// </summary>
public static class SegmentFileNames
{
    public const string DataExtension = ".log";
    public const string OffsetIndexExtension = ".index";
    public const string TimeIndexExtension = ".timeindex";

    public static string Stem(string directory, long baseOffset) =>
        Path.Combine(directory, baseOffset.ToString("D20", CultureInfo.InvariantCulture));

    public static string Data(string directory, long baseOffset) => Stem(directory, baseOffset) + DataExtension;
    public static string OffsetIndex(string directory, long baseOffset) => Stem(directory, baseOffset) + OffsetIndexExtension;
    public static string TimeIndex(string directory, long baseOffset) => Stem(directory, baseOffset) + TimeIndexExtension;

    /// <summary>Base offsets of the data files in <paramref name="directory"/>, ascending.</summary>
    public static List<long> ListBaseOffsets(string directory)
    {
        var offsets = new List<long>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + DataExtension))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (name.Length == 20 && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
                offsets.Add(offset);
        }
        offsets.Sort();
        return offsets;
    }
}
