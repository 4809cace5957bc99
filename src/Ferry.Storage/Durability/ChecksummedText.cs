using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Storage.Durability;

/// <summary>
/// The content of a small text file Ferry trusts at start (checkpoints, the clean-shutdown marker) with a CRC-32C of
/// its own: <c>TEXT crc32c=xxxxxxxx</c>. A bit flip there is otherwise a wrong offset believed: a log start checkpoint
/// one bit higher made the next open delete healthy segments below it.
/// </summary>
public static class ChecksummedText
{
    private const string Tag = " crc32c=";

    public static byte[] Format(string text)
    {
        byte[] payload = Encoding.ASCII.GetBytes(text);
        return Encoding.ASCII.GetBytes(text + Tag + Crc32C.Compute(payload).ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The text of <paramref name="content"/> when its checksum matches. Content without any checksum, as Ferry wrote
    /// before it had them, comes back as <see cref="ChecksummedRead.Unchecked"/> for the caller to judge.
    /// </summary>
    public static ChecksummedRead Parse(ReadOnlySpan<byte> content, out string text)
    {
        string all = Encoding.ASCII.GetString(content);
        int tag = all.LastIndexOf(Tag, StringComparison.Ordinal);
        if (tag < 0)
        {
            text = all;
            return ChecksummedRead.Unchecked;
        }
        text = all[..tag];
        string written = all[(tag + Tag.Length)..];
        string computed = Crc32C.Compute(content[..tag]).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        return written == computed ? ChecksummedRead.Valid : ChecksummedRead.Damaged;
    }

    /// <summary>Reads and checks <paramref name="path"/>; <see cref="ChecksummedRead.Missing"/> when there is no such file.</summary>
    public static ChecksummedRead Read(string path, out string text)
    {
        text = "";
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return ChecksummedRead.Missing;
        }
        return Parse(content, out text);
    }
}

public enum ChecksummedRead
{
    Missing,
    Valid,

    /// <summary>No checksum in the file (written before Ferry had them).</summary>
    Unchecked,

    /// <summary>The checksum does not match the text: not to be believed.</summary>
    Damaged,
}
