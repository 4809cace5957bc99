namespace Ferry.Storage.Durability;

/// <summary>
/// Test seam: makes a segment's fsync fail as a failing disk would (EIO), so that tests can check that nothing
/// is acknowledged as durable when it is not. Null in production: one field read per fsync.
/// </summary>
internal static class StorageFaults
{
    /// <summary>Given a segment data file's path, whether its next fsync fails.</summary>
    public static volatile Func<string, bool>? FailSync;

    public static void BeforeSync(string path)
    {
        if (FailSync is { } fail && fail(path)) throw new IOException($"Injected fsync failure on '{path}'.");
    }
}
