namespace Ferry.Kafka.Protocol.Messages;

/// <summary>
/// A fetch response's records are <see cref="FileRecords"/>: ranges of log files, each holding a reference on
/// its segment until the response has been written. The connection disposes the response after writing it
/// (or when it will never be written), which lets retention delete those segments again.
/// </summary>
public sealed partial class FetchResponse : IDisposable
{
    private List<FileRecords>? _fileRecords;

    internal ReadOnlyMemory<byte> Attach(FileRecords records)
    {
        (_fileRecords ??= []).Add(records);
        return records.Memory;
    }

    public void Dispose()
    {
        if (_fileRecords is null) return;
        foreach (var records in _fileRecords) ((IDisposable)records).Dispose();
        _fileRecords = null;
    }
}
