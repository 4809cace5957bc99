using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>The controller's decisions on users, ACLs, vhosts and permissions, and how the image applies and snapshots them.</summary>
public sealed class SecurityDecisionsTests
{
    private static readonly AclBinding WriteOrders = new(AclResourceType.Topic, "orders", AclPatternType.Literal, "User:alice", "*", AclOperation.Write, AclPermission.Allow);
    private static readonly AclBinding ReadOrders = WriteOrders with { Operation = AclOperation.Read };

    /// <summary>Applies the decision's record through the whole image (and its JSON form, as the log carries it); the decision must have one.</summary>
    private static void Commit(MetadataImage image, SecurityDecision decision)
    {
        Assert.Equal(SecurityError.None, decision.Error);
        Assert.NotNull(decision.Record);
        Assert.True(image.Apply(MetadataRecord.Deserialize(decision.Record.Serialize())));
    }

    private static MetadataImage WithUser(string name = "alice", params string[] tags)
    {
        var image = new MetadataImage();
        Commit(image, SecurityDecisions.PutUser(image.Security, name, tags, User.Create(name, "pw", tags).Credentials));
        return image;
    }

    [Fact]
    public void PutUser_StoresCredentialsThatCheckThePassword_NeverThePassword()
    {
        var image = WithUser("alice", User.Administrator);
        var alice = image.Security.Users["alice"];
        Assert.True(alice.IsAdministrator);
        Assert.True(alice.PasswordMatches("pw"));
        Assert.False(alice.PasswordMatches("other"));
        Assert.Equal(2, alice.Credentials.Count);
        Assert.DoesNotContain("\"pw\"", System.Text.Encoding.UTF8.GetString(image.Serialize()), StringComparison.Ordinal);
    }

    [Fact]
    public void PutUser_IfAbsent_KeepsTheExistingUser_WithNoRecord()
    {
        var image = WithUser();
        var again = SecurityDecisions.PutUser(image.Security, "alice", [User.Administrator], User.Create("alice", "new", []).Credentials, ifAbsent: true);
        Assert.Equal(SecurityError.None, again.Error);
        Assert.True(again.Existed);
        Assert.Null(again.Record);
        // Without IfAbsent it replaces the user.
        var replace = SecurityDecisions.PutUser(image.Security, "alice", [User.Administrator], User.Create("alice", "new", []).Credentials);
        Assert.True(replace.Existed);
        Commit(image, replace);
        Assert.True(image.Security.Users["alice"].PasswordMatches("new"));
    }

    [Theory]
    [InlineData("", "monitoring")]
    [InlineData("__ferry_peer", "monitoring")]
    [InlineData("bob", "wizard")]
    public void PutUser_RefusesEmptyReservedNamesAndUnknownTags(string name, string tag)
    {
        var image = new MetadataImage();
        var decision = SecurityDecisions.PutUser(image.Security, name, [tag], User.Create("x", "pw", []).Credentials);
        Assert.Equal(SecurityError.Invalid, decision.Error);
        Assert.Null(decision.Record);
    }

    [Fact]
    public void PutUser_RefusesNoCredentialOrTwoOfOneMechanismOrBadKeys()
    {
        var security = new MetadataImage().Security;
        var sha512 = ScramCredential.Create(ScramMechanism.Sha512, "pw");
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutUser(security, "bob", [], []).Error);
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutUser(security, "bob", [], [sha512, sha512]).Error);
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutUser(security, "bob", [], [sha512 with { StoredKey = [1, 2, 3] }]).Error);
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutUser(security, "bob", [], [sha512 with { Iterations = 0 }]).Error);
    }

    [Fact]
    public void DeleteUser_OfAMissingUser_IsNotFound_WithNoRecord()
    {
        var image = WithUser();
        var missing = SecurityDecisions.DeleteUser(image.Security, "bob");
        Assert.Equal(SecurityError.NotFound, missing.Error);
        Assert.Null(missing.Record);
        Commit(image, SecurityDecisions.DeleteUser(image.Security, "alice"));
        Assert.Empty(image.Security.Users);
        // Applying the same delete again (a duplicate decision) changes nothing.
        Assert.False(image.Apply(new MetadataRecord { Type = MetadataRecordType.DeleteUser, UserName = "alice" }));
    }

    [Fact]
    public void AddAcls_KeepsDuplicatesOnce_InTheRequestAndAgainstTheImage()
    {
        var image = new MetadataImage();
        var first = SecurityDecisions.AddAcls(image.Security, [WriteOrders, WriteOrders]);
        Assert.Equal([WriteOrders], first.Record!.Acls!);
        Commit(image, first);
        var again = SecurityDecisions.AddAcls(image.Security, [WriteOrders, ReadOrders]);
        Assert.Equal([ReadOrders], again.Record!.Acls!);
        Commit(image, again);
        Assert.Equal(2, image.Security.Acls.Length);
        var nothingNew = SecurityDecisions.AddAcls(image.Security, [ReadOrders]);
        Assert.Null(nothingNew.Record);
        Assert.True(nothingNew.Existed);
        // A record carrying a binding already there (a duplicate decision) adds nothing.
        Assert.False(image.Apply(new MetadataRecord { Type = MetadataRecordType.AddAcls, Acls = [WriteOrders] }));
        Assert.Equal(2, image.Security.Acls.Length);
    }

    [Fact]
    public void AddAcls_OneInvalidBinding_RefusesThemAll()
    {
        var invalid = WriteOrders with { Principal = "alice" };
        var decision = SecurityDecisions.AddAcls(new MetadataImage().Security, [WriteOrders, invalid]);
        Assert.Equal(SecurityError.Invalid, decision.Error);
        Assert.Null(decision.Record);
    }

    [Fact]
    public void RemoveAcls_ResolvesEachFilterToTheBindingsItMatched()
    {
        var image = new MetadataImage();
        Commit(image, SecurityDecisions.AddAcls(image.Security, [WriteOrders, ReadOrders]));
        var writes = AclFilter.Everything with { Operation = AclOperation.Write };
        var none = AclFilter.Everything with { Principal = "User:nobody" };
        var decision = SecurityDecisions.RemoveAcls(image.Security, [writes, none]);
        Assert.Equal([[WriteOrders], []], decision.Removed!);
        Commit(image, decision);
        Assert.Equal([ReadOrders], image.Security.Acls);
        Assert.Null(SecurityDecisions.RemoveAcls(image.Security, [none]).Record);
    }

    [Theory]
    [InlineData("")]
    [InlineData("this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost-this-name-is-far-too-long-for-a-vhost")]
    public void PutVhost_RefusesAnInvalidName(string name) =>
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutVhost(new MetadataImage().Security, name).Error);

    [Fact]
    public void Vhosts_ExistOnce_TheDefaultAlways_AndDeletingOneTakesItsPermissions()
    {
        var image = WithUser();
        Assert.True(SecurityDecisions.PutVhost(image.Security, "/").Existed);
        Commit(image, SecurityDecisions.PutVhost(image.Security, "prod"));
        Assert.True(SecurityDecisions.PutVhost(image.Security, "prod").Existed);
        Assert.Null(SecurityDecisions.PutVhost(image.Security, "prod").Record);
        Commit(image, SecurityDecisions.PutPermission(image.Security, "prod", "alice", "^$", ".*", ".*"));
        Commit(image, SecurityDecisions.PutPermission(image.Security, "/", "alice", ".*", ".*", ".*"));
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.DeleteVhost(image.Security, "/").Error);
        Assert.Equal(SecurityError.NotFound, SecurityDecisions.DeleteVhost(image.Security, "test").Error);
        Commit(image, SecurityDecisions.DeleteVhost(image.Security, "prod"));
        Assert.False(image.Security.HasVhost("prod"));
        Assert.Equal([("/", "alice")], image.Security.Permissions.Keys);
    }

    [Fact]
    public void PutPermission_NeedsTheVhostTheUserAndValidExpressions()
    {
        var image = WithUser();
        Assert.Equal(SecurityError.NotFound, SecurityDecisions.PutPermission(image.Security, "prod", "alice", ".*", ".*", ".*").Error);
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutPermission(image.Security, "/", "bob", ".*", ".*", ".*").Error);
        Assert.Equal(SecurityError.Invalid, SecurityDecisions.PutPermission(image.Security, "/", "alice", "(", ".*", ".*").Error);
        var put = SecurityDecisions.PutPermission(image.Security, "/", "alice", "^alice-.*", "^$", ".*");
        Assert.False(put.Existed);
        Commit(image, put);
        var permission = image.Security.Permissions[("/", "alice")];
        Assert.True(permission.MayConfigure("alice-q"));
        Assert.False(permission.MayWrite("amq.direct"));
        Assert.True(SecurityDecisions.PutPermission(image.Security, "/", "alice", ".*", ".*", ".*").Existed);
        Assert.Equal(SecurityError.NotFound, SecurityDecisions.DeletePermission(image.Security, "/", "bob").Error);
        Commit(image, SecurityDecisions.DeletePermission(image.Security, "/", "alice"));
        Assert.Empty(image.Security.Permissions);
    }

    [Fact]
    public void EveryAppliedChange_BumpsTheVersion_AndARefusedOneDoesNot()
    {
        var image = new MetadataImage();
        long before = image.Security.Version;
        Commit(image, SecurityDecisions.PutVhost(image.Security, "prod"));
        Assert.Equal(before + 1, image.Security.Version);
        Assert.False(image.Apply(new MetadataRecord { Type = MetadataRecordType.PutVhost, Vhost = "prod" }));
        Assert.Equal(before + 1, image.Security.Version);
    }

    [Fact]
    public void Snapshot_CarriesUsersAclsVhostsAndPermissions()
    {
        var image = WithUser("alice", User.Monitoring);
        Commit(image, SecurityDecisions.AddAcls(image.Security, [WriteOrders]));
        Commit(image, SecurityDecisions.PutVhost(image.Security, "prod"));
        Commit(image, SecurityDecisions.PutPermission(image.Security, "prod", "alice", "^$", "^x$", ".*"));

        var restored = new MetadataImage();
        restored.Restore(image.Serialize());
        var security = restored.Security;
        Assert.True(security.Users["alice"].PasswordMatches("pw"));
        Assert.Equal([User.Monitoring], security.Users["alice"].Tags);
        Assert.Equal([WriteOrders], security.Acls);
        Assert.Equal(["prod"], security.Vhosts);
        var permission = security.Permissions[("prod", "alice")];
        Assert.True(permission.MayWrite("x"));
        Assert.False(permission.MayWrite("y"));
        Assert.NotEqual(0, security.Version);
    }

    [Fact]
    public void Snapshot_WrittenBeforeSecurityWasInTheQuorum_RestoresAnEmptySecurityImage()
    {
        var restored = new MetadataImage();
        restored.Restore("""{"nodes":[],"topics":[],"producerIdEnd":5}"""u8);
        Assert.Equal(5, restored.ProducerIdEnd);
        Assert.Empty(restored.Security.Users);
        Assert.Empty(restored.Security.Acls);
    }
}
