using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Security.Permissions;

/// <summary>
/// Permissions in <c>security/permissions.json</c> under the data directory, rewritten atomically on every change;
/// readers see an immutable snapshot keyed by (vhost, user), its regular expressions compiled once.
/// </summary>
public sealed class FilePermissionStore : IPermissionStore
{
    private readonly string _path;
    private readonly Lock _writing = new();
    private volatile ImmutableDictionary<(string Vhost, string User), VhostPermission> _all;

    public FilePermissionStore(string dataDirectory)
    {
        _path = Path.Combine(dataDirectory, "security", "permissions.json");
        _all = ImmutableDictionary<(string, string), VhostPermission>.Empty;
        if (DurableFile.ReadAllBytes(_path) is { } content)
        {
            var file = JsonSerializer.Deserialize(content, PermissionsJsonContext.Default.PermissionsFile) ?? throw new InvalidDataException($"{_path} is empty.");
            _all = file.Permissions.ToImmutableDictionary(p => (p.Vhost, p.User), p => new VhostPermission(p.Vhost, p.User, p.Configure, p.Write, p.Read));
        }
    }

    public IReadOnlyList<VhostPermission> All => [.. _all.Values.OrderBy(p => p.Vhost, StringComparer.Ordinal).ThenBy(p => p.User, StringComparer.Ordinal)];

    public VhostPermission? Find(string vhost, string user) => _all.GetValueOrDefault((vhost, user));

    public void Put(VhostPermission permission)
    {
        lock (_writing) Save(_all.SetItem((permission.Vhost, permission.User), permission));
    }

    public ValueTask PutAsync(VhostPermission permission, CancellationToken cancellationToken = default)
    {
        Put(permission);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> DeleteAsync(string vhost, string user, CancellationToken cancellationToken = default) => new(Delete(vhost, user));

    public bool Delete(string vhost, string user)
    {
        lock (_writing)
        {
            if (!_all.ContainsKey((vhost, user))) return false;
            Save(_all.Remove((vhost, user)));
            return true;
        }
    }

    private void Save(ImmutableDictionary<(string Vhost, string User), VhostPermission> all)
    {
        var file = new PermissionsFile
        {
            Permissions = [.. all.Values.OrderBy(p => p.Vhost, StringComparer.Ordinal).ThenBy(p => p.User, StringComparer.Ordinal)
                .Select(p => new PermissionEntry { Vhost = p.Vhost, User = p.User, Configure = p.Configure, Write = p.Write, Read = p.Read })],
        };
        DurableFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(file, PermissionsJsonContext.Default.PermissionsFile));
        _all = all;
    }
}

internal sealed class PermissionsFile
{
    public List<PermissionEntry> Permissions { get; set; } = [];
}

internal sealed class PermissionEntry
{
    public string Vhost { get; set; } = "/";
    public string User { get; set; } = "";
    public string Configure { get; set; } = "";
    public string Write { get; set; } = "";
    public string Read { get; set; } = "";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(PermissionsFile))]
internal sealed partial class PermissionsJsonContext : JsonSerializerContext;
