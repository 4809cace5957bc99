using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry acls list|add|remove</c> over the admin API's <c>/api/acls</c>, with kafka-acls' vocabulary.</summary>
internal static class AclsCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List the Kafka ACLs").WithAction(async (_, context, ct) =>
        {
            var acls = await context.Client.GetAsync("api/acls", FerryJsonContext.Api.ListAclInfo, ct).ConfigureAwait(false);
            Print(context, acls);
            return ExitCodes.Ok;
        });

        var add = new Command("add", "Add an ACL: ferry acls add --principal User:alice --operation WRITE --topic orders [--prefixed] [--deny] [--host IP]");
        var addOptions = new AclOptions(add, forRemove: false);
        add.WithAction(async (parse, context, ct) =>
        {
            var acl = addOptions.Read(parse);
            var result = await context.Client.SendAsync(HttpMethod.Post, "api/acls", acl, FerryJsonContext.Api.AclInfo, FerryJsonContext.Api.AclInfo, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(result, FerryJsonContext.Api.AclInfo);
            else context.WriteLine($"Added {result.Permission} {result.Operation} on {result.ResourceType} {result.PatternType} '{result.ResourceName}' for {result.Principal} from {result.Host}.");
            return ExitCodes.Ok;
        });

        var remove = new Command("remove", "Remove the ACLs that match: what is not given matches anything");
        var removeOptions = new AclOptions(remove, forRemove: true);
        remove.WithAction(async (parse, context, ct) =>
        {
            var acl = removeOptions.Read(parse);
            var query = new List<string>();
            void Add(string key, string? value)
            {
                if (!string.IsNullOrEmpty(value)) query.Add(key + "=" + Uri.EscapeDataString(value));
            }
            Add("resourceType", acl.ResourceType);
            Add("resourceName", acl.ResourceName);
            Add("patternType", acl.PatternType);
            Add("principal", acl.Principal);
            Add("host", acl.Host);
            Add("operation", acl.Operation);
            Add("permission", acl.Permission);
            var removed = await context.Client.SendAsync(HttpMethod.Delete, "api/acls" + (query.Count > 0 ? "?" + string.Join('&', query) : ""),
                FerryJsonContext.Api.ListAclInfo, ct).ConfigureAwait(false);
            if (context.Json) context.WriteJson(removed, FerryJsonContext.Api.ListAclInfo);
            else context.WriteLine($"Removed {removed.Count} ACL(s).");
            return ExitCodes.Ok;
        });

        return new Command("acls", "Manage Kafka ACLs (enforced with Security:Authorization)") { list, add, remove };
    }

    private static void Print(ClientContext context, List<AclInfo> acls)
    {
        if (context.Json)
        {
            context.WriteJson(acls, FerryJsonContext.Api.ListAclInfo);
            return;
        }
        var table = NewTable("PRINCIPAL", "HOST", "PERMISSION", "OPERATION", "RESOURCE", "PATTERN", "NAME");
        foreach (var a in acls) table.Row(a.Principal, a.Host, a.Permission, a.Operation, a.ResourceType, a.PatternType, a.ResourceName);
        context.Write(table);
    }

    /// <summary>The options of add and remove; remove leaves out what is not given (matches anything).</summary>
    private sealed class AclOptions
    {
        private readonly bool _forRemove;
        private readonly Option<string> _principal = new("--principal") { Description = "User:NAME (or User:* for everyone)", HelpName = "PRINCIPAL" };
        private readonly Option<string> _operation = new("--operation") { Description = "READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, CLUSTER_ACTION, ALL", HelpName = "OP" };
        private readonly Option<string> _topic = new("--topic") { Description = "A topic name (or * for all, or a prefix with --prefixed)", HelpName = "NAME" };
        private readonly Option<string> _group = new("--group") { Description = "A consumer group id", HelpName = "NAME" };
        private readonly Option<string> _transactionalId = new("--transactional-id") { Description = "A transactional id", HelpName = "NAME" };
        private readonly Option<bool> _cluster = new("--cluster") { Description = "The cluster resource" };
        private readonly Option<bool> _prefixed = new("--prefixed") { Description = "The name is a prefix" };
        private readonly Option<bool> _deny = new("--deny") { Description = "A DENY instead of an ALLOW" };
        private readonly Option<string> _host = new("--host") { Description = "Client IP address (default * for any)", HelpName = "IP" };

        public AclOptions(Command command, bool forRemove)
        {
            _forRemove = forRemove;
            foreach (var option in new Option[] { _principal, _operation, _topic, _group, _transactionalId, _cluster, _prefixed, _deny, _host }) command.Options.Add(option);
        }

        public AclInfo Read(ParseResult parse)
        {
            string? topic = parse.GetValue(_topic), group = parse.GetValue(_group), transactional = parse.GetValue(_transactionalId);
            bool cluster = parse.GetValue(_cluster);
            int resources = (topic is null ? 0 : 1) + (group is null ? 0 : 1) + (transactional is null ? 0 : 1) + (cluster ? 1 : 0);
            if (resources > 1 || (resources == 0 && !_forRemove)) throw new UsageException("give one of --topic, --group, --transactional-id or --cluster");
            (string? type, string? name) = topic is not null ? ("TOPIC", topic) : group is not null ? ("GROUP", group)
                : transactional is not null ? ("TRANSACTIONAL_ID", transactional) : cluster ? ("CLUSTER", "kafka-cluster") : (null, null);
            string? principal = parse.GetValue(_principal), operation = parse.GetValue(_operation);
            if (!_forRemove && (principal is null || operation is null)) throw new UsageException("give --principal and --operation");
            bool prefixed = parse.GetValue(_prefixed), deny = parse.GetValue(_deny);
            return new AclInfo(type, name, prefixed ? "PREFIXED" : _forRemove && name is null ? null : "LITERAL", principal,
                parse.GetValue(_host) ?? (_forRemove ? null : "*"), operation, deny ? "DENY" : _forRemove ? null : "ALLOW");
        }
    }
}
