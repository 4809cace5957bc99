namespace Ferry.Tests;

/// <summary><c>ferry acls</c> over <c>/api/acls</c>: add, list, remove, stored in the data directory.</summary>
public sealed class AclCliTests
{
    [Fact]
    public async Task AclsAddListRemove_RoundTrip_Durable()
    {
        await using var ferry = new LiveFerry();
        await ferry.InitializeAsync();
        var added = await ferry.RunAsync("acls", "add", "--principal", "User:alice", "--operation", "WRITE", "--topic", "orders-", "--prefixed");
        Assert.True(added.ExitCode == 0, added.Stderr);
        Assert.Contains("ALLOW WRITE on TOPIC PREFIXED 'orders-' for User:alice", added.Stdout);
        var denied = await ferry.RunAsync("acls", "add", "--principal", "User:bob", "--operation", "describe_configs", "--cluster", "--deny");
        Assert.True(denied.ExitCode == 0, denied.Stderr);
        var invalid = await ferry.RunAsync("acls", "add", "--principal", "alice", "--operation", "READ", "--group", "g");
        Assert.NotEqual(0, invalid.ExitCode);

        var listed = await ferry.RunAsync("acls", "list");
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Contains("User:alice", listed.Stdout);
        Assert.Contains("DESCRIBE_CONFIGS", listed.Stdout);
        string stored = await File.ReadAllTextAsync(Path.Combine(ferry.DataDirectory, "security", "acls.json"));
        Assert.Contains("orders-", stored);

        var removed = await ferry.RunAsync("acls", "remove", "--principal", "User:alice");
        Assert.True(removed.ExitCode == 0, removed.Stderr);
        Assert.Contains("Removed 1 ACL(s).", removed.Stdout);
        var left = await ferry.RunAsync("acls", "list", "--json");
        Assert.DoesNotContain("User:alice", left.Stdout);
        Assert.Contains("User:bob", left.Stdout);
    }
}
