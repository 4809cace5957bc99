using System.Text;
using Ferry.Broker.Metadata;

namespace Ferry.Cluster.Raft;

/// <summary>
/// <c>DATA/cluster/identity</c>: the cluster id, node id and voter list a data directory was created with. A node
/// started on a directory of another cluster, as another node, or with another voter list is refused before it
/// touches the quorum, so that a mistake cannot split a cluster or mix two clusters' metadata.
/// </summary>
internal static class ClusterIdentity
{
    public static void CheckOrCreate(ClusterOptions options)
    {
        string path = Path.Combine(options.Directory, "identity");
        string voters = string.Join(',', options.Voters.OrderBy(v => v.NodeId).Select(v => $"{v.NodeId}@{v.EndPoint}"));
        string expected = $"cluster.id={options.ClusterId}\nnode.id={options.NodeId}\nvoters={voters}\n";
        var stored = DurableFile.ReadAllBytes(path);
        if (stored is null)
        {
            DurableFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(expected));
            return;
        }
        var fields = Encoding.UTF8.GetString(stored).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        Check(fields, "cluster.id", options.ClusterId, "belongs to cluster");
        Check(fields, "node.id", options.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture), "belongs to node");
        Check(fields, "voters", voters, "was created with the voter list");
    }

    private static void Check(Dictionary<string, string> fields, string key, string expected, string what)
    {
        if (fields.TryGetValue(key, out var stored) && stored != expected)
            throw new ClusterConfigurationException($"The data directory {what} '{stored}', not '{expected}'. Start it with the settings it was created with, or use another --data directory.");
    }
}

/// <summary>A node's cluster settings disagree with its data directory or the cluster; it refuses to start.</summary>
public sealed class ClusterConfigurationException(string message) : Exception(message);
