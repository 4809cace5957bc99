using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ferry.Broker.Metadata;

namespace Ferry.Broker.Security;

/// <summary>
/// Users in <c>security/users.json</c> under the data directory, rewritten atomically (<see cref="DurableFile"/>) on
/// every change. Readers see an immutable snapshot, so a login never takes a lock.
/// </summary>
/// <remarks>
/// <code>
/// { "users": [ { "name": "alice", "tags": ["administrator"],
///   "credentials": [ { "mechanism": "Sha256", "salt": "base64", "iterations": 4096, "storedKey": "base64", "serverKey": "base64" } ] } ] }
/// </code>
/// </remarks>
public sealed class FileUserStore : IUserStore
{
    private readonly string _path;
    private readonly Lock _writing = new();
    private volatile ImmutableDictionary<string, User> _users;
    private long _version;

    public FileUserStore(string dataDirectory)
    {
        _path = Path.Combine(dataDirectory, "security", "users.json");
        _users = ImmutableDictionary.Create<string, User>(StringComparer.Ordinal);
        if (DurableFile.ReadAllBytes(_path) is { } content)
        {
            var file = JsonSerializer.Deserialize(content, UsersJsonContext.Default.UsersFile)
                ?? throw new InvalidDataException($"{_path} is empty.");
            _users = file.Users.ToImmutableDictionary(
                u => u.Name,
                u => new User(u.Name, u.Tags, [.. u.Credentials.Select(c => new ScramCredential(c.Mechanism, c.Salt, c.Iterations, c.StoredKey, c.ServerKey))]),
                StringComparer.Ordinal);
        }
    }

    public bool HasUsers => !_users.IsEmpty;

    public long Version => Interlocked.Read(ref _version);

    public IReadOnlyList<User> All => [.. _users.Values.OrderBy(u => u.Name, StringComparer.Ordinal)];

    public User? Find(string name) => _users.GetValueOrDefault(name);

    public void Put(User user)
    {
        // The callers refuse such names with their protocol's error first; this keeps any other path from storing one.
        if (PeerPrincipal.IsReserved(user.Name)) throw new ArgumentException($"User name '{user.Name}' is reserved.", nameof(user));
        lock (_writing) Save(_users.SetItem(user.Name, user));
    }

    public ValueTask PutAsync(User user, CancellationToken cancellationToken = default)
    {
        Put(user);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => new(Delete(name));

    public bool Delete(string name)
    {
        lock (_writing)
        {
            if (!_users.ContainsKey(name)) return false;
            Save(_users.Remove(name));
            return true;
        }
    }

    private void Save(ImmutableDictionary<string, User> users)
    {
        var file = new UsersFile
        {
            Users = [.. users.Values.OrderBy(u => u.Name, StringComparer.Ordinal).Select(u => new UserEntry
            {
                Name = u.Name,
                Tags = [.. u.Tags],
                Credentials = [.. u.Credentials.Select(c => new CredentialEntry
                {
                    Mechanism = c.Mechanism, Salt = c.Salt, Iterations = c.Iterations, StoredKey = c.StoredKey, ServerKey = c.ServerKey,
                })],
            })],
        };
        DurableFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(file, UsersJsonContext.Default.UsersFile));
        _users = users;
        Interlocked.Increment(ref _version);
    }
}

internal sealed class UsersFile
{
    public List<UserEntry> Users { get; set; } = [];
}

internal sealed class UserEntry
{
    public string Name { get; set; } = "";
    public List<string> Tags { get; set; } = [];
    public List<CredentialEntry> Credentials { get; set; } = [];
}

internal sealed class CredentialEntry
{
    public ScramMechanism Mechanism { get; set; }
    public byte[] Salt { get; set; } = [];
    public int Iterations { get; set; }
    public byte[] StoredKey { get; set; } = [];
    public byte[] ServerKey { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(UsersFile))]
internal sealed partial class UsersJsonContext : JsonSerializerContext;
