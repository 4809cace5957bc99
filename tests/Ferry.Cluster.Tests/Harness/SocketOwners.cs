using System.Globalization;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>
/// Which of our child processes opened a loopback connection, from Linux's socket tables: the connecting socket's
/// inode in <c>/proc/net/tcp[6]</c>, then the process whose <c>/proc/PID/fd</c> holds it. Every node dials a peer's
/// single advertised address, so this is how one proxy per node tells the links apart (node 1 → node 2 from
/// node 3 → node 2) without giving each node its own view of the others.
/// </summary>
internal static class SocketOwners
{
    /// <summary>The pid among <paramref name="candidates"/> owning the socket bound to <paramref name="sourcePort"/> and connected to <paramref name="targetPort"/>; null if none (the test process, or gone).</summary>
    public static int? Find(int sourcePort, int targetPort, IEnumerable<int> candidates)
    {
        if (InodeOf(sourcePort, targetPort) is not { } inode) return null;
        string link = $"socket:[{inode}]";
        foreach (int pid in candidates)
        {
            string[] fds;
            try
            {
                fds = Directory.GetFileSystemEntries($"/proc/{pid}/fd");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the process exited
            }
            foreach (var fd in fds)
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget == link) return pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // That fd closed while we looked: not this one.
                }
            }
        }
        return null;
    }

    private static string? InodeOf(int sourcePort, int targetPort)
    {
        string local = ":" + sourcePort.ToString("X4", CultureInfo.InvariantCulture);
        string remote = ":" + targetPort.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var table in (string[])["/proc/net/tcp", "/proc/net/tcp6"])
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(table);
            }
            catch (IOException)
            {
                continue;
            }
            // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[1].EndsWith(local, StringComparison.Ordinal) && fields[2].EndsWith(remote, StringComparison.Ordinal))
                    return fields[9];
            }
        }
        return null;
    }
}
