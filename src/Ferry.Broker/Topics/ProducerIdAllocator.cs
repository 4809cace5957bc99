using System.Globalization;
using System.Text;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Topics;

/// <summary>
/// Hands out producer ids for idempotent producers, never the same one twice, even across crashes: ids are
/// reserved in blocks whose end is written durably (<c>DATA/producer-ids</c>) before any id in the block is
/// given out. A crash wastes at most the rest of a block.
/// </summary>
public sealed class ProducerIdAllocator
{
    private const long BlockSize = 1000;
    private readonly Lock _lock = new();
    private readonly string _path;
    private long _next;
    private long _reservedEnd;

    public ProducerIdAllocator(string dataDirectory)
    {
        _path = Path.Combine(dataDirectory, "producer-ids");
        var stored = DurableFile.ReadAllBytes(_path);
        _next = stored is null ? 0 : long.Parse(Encoding.ASCII.GetString(stored), CultureInfo.InvariantCulture);
        _reservedEnd = _next;
    }

    public long Next()
    {
        lock (_lock)
        {
            if (_next >= _reservedEnd)
            {
                _reservedEnd = _next + BlockSize;
                DurableFile.WriteAllBytes(_path, Encoding.ASCII.GetBytes(_reservedEnd.ToString(CultureInfo.InvariantCulture)));
            }
            return _next++;
        }
    }
}
