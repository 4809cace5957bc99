using System.Text;

namespace Ferry.Amqp.Framing;

/// <summary>
/// The strings a publisher repeats (exchange names, routing keys), kept so that decoding one from a frame
/// allocates only the first time: a publisher sending to one queue reuses the same string for every message.
/// A few slots, replaced round-robin; not thread-safe (one per channel, used on its read loop).
/// </summary>
internal sealed class ShortStrCache
{
    private readonly string[] _slots = new string[8];
    private int _next;

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        foreach (string? cached in _slots)
        {
            // Only ASCII strings compare equal here: a non-ASCII one is decoded each time (rare in names and keys).
            if (cached is not null && cached.Length == utf8.Length && Ascii.Equals(utf8, cached)) return cached;
        }

        string decoded = Encoding.UTF8.GetString(utf8);
        _slots[_next] = decoded;
        _next = (_next + 1) % _slots.Length;
        return decoded;
    }
}
