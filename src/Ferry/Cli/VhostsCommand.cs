using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary>
/// <c>ferry vhosts list|add|delete</c> and <c>ferry permissions list|set|clear</c> over <c>/api/vhosts</c> and
/// <c>/api/permissions</c>, RabbitMQ's <c>rabbitmqctl add_vhost</c> and <c>set_permissions</c>.
/// </summary>
internal static class VhostsCommand
{
    public static Command Vhosts()
    {
        var list = new Command("list", "List vhosts").WithAction(async (_, context, ct) =>
        {
            var vhosts = await context.Client.GetAsync("api/vhosts", FerryJsonContext.Api.ListVhostInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(vhosts, FerryJsonContext.Api.ListVhostInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("VHOST", "QUEUES", "EXCHANGES");
            foreach (var v in vhosts) table.Row(v.Name, v.Queues.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Exchanges.ToString(System.Globalization.CultureInfo.InvariantCulture));
            context.Write(table);
            return ExitCodes.Ok;
        });

        var addName = new Argument<string>("name") { Description = "Vhost name" };
        var add = new Command("add", "Create a vhost") { addName };
        add.WithAction(async (parse, context, ct) =>
        {
            string name = parse.GetValue(addName)!;
            await context.Client.SendAsync(HttpMethod.Put, $"api/vhosts/{AdminClient.Escape(name)}", ct).ConfigureAwait(false);
            Done(context, $"Vhost {name} exists.");
            return ExitCodes.Ok;
        });

        var deleteName = new Argument<string>("name") { Description = "Vhost name" };
        var delete = new Command("delete", "Delete a vhost with all its queues, exchanges and permissions") { deleteName };
        delete.WithAction(async (parse, context, ct) =>
        {
            string name = parse.GetValue(deleteName)!;
            await context.Client.SendAsync(HttpMethod.Delete, $"api/vhosts/{AdminClient.Escape(name)}", ct).ConfigureAwait(false);
            Done(context, $"Deleted vhost {name}.");
            return ExitCodes.Ok;
        });
        return new Command("vhosts", "Manage AMQP virtual hosts") { list, add, delete };
    }

    public static Command Permissions()
    {
        var list = new Command("list", "List every user's permissions per vhost").WithAction(async (_, context, ct) =>
        {
            var permissions = await context.Client.GetAsync("api/permissions", FerryJsonContext.Api.ListPermissionInfo, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(permissions, FerryJsonContext.Api.ListPermissionInfo);
                return ExitCodes.Ok;
            }
            var table = NewTable("VHOST", "USER", "CONFIGURE", "WRITE", "READ");
            foreach (var p in permissions) table.Row(p.Vhost ?? "", p.User ?? "", p.Configure ?? "", p.Write ?? "", p.Read ?? "");
            context.Write(table);
            return ExitCodes.Ok;
        });

        var vhost = new Option<string>("--vhost") { Description = "Vhost (default /)", HelpName = "VHOST", DefaultValueFactory = _ => "/" };
        var user = new Argument<string>("user") { Description = "User name" };
        var configure = new Argument<string>("configure") { Description = "Regular expression of the queues and exchanges the user may declare and delete" };
        var write = new Argument<string>("write") { Description = "... may publish to (exchanges) and bind to (queues)" };
        var read = new Argument<string>("read") { Description = "... may consume from, get from and purge (queues), and bind from (exchanges)" };
        var set = new Command("set", "Set a user's permissions in a vhost: ferry permissions set --vhost /prod alice '^alice-.*' '.*' '.*'") { vhost, user, configure, write, read };
        set.WithAction(async (parse, context, ct) =>
        {
            string v = parse.GetValue(vhost)!, u = parse.GetValue(user)!;
            var body = new PermissionInfo(null, null, parse.GetValue(configure), parse.GetValue(write), parse.GetValue(read));
            await context.Client.SendAsync(HttpMethod.Put, $"api/permissions/{AdminClient.Escape(v)}/{AdminClient.Escape(u)}", body,
                FerryJsonContext.Api.PermissionInfo, ct).ConfigureAwait(false);
            Done(context, $"Permissions of {u} in vhost {v} set.");
            return ExitCodes.Ok;
        });

        var clearVhost = new Option<string>("--vhost") { Description = "Vhost (default /)", HelpName = "VHOST", DefaultValueFactory = _ => "/" };
        var clearUser = new Argument<string>("user") { Description = "User name" };
        var clear = new Command("clear", "Remove a user's permissions in a vhost") { clearVhost, clearUser };
        clear.WithAction(async (parse, context, ct) =>
        {
            string v = parse.GetValue(clearVhost)!, u = parse.GetValue(clearUser)!;
            await context.Client.SendAsync(HttpMethod.Delete, $"api/permissions/{AdminClient.Escape(v)}/{AdminClient.Escape(u)}", ct).ConfigureAwait(false);
            Done(context, $"Permissions of {u} in vhost {v} cleared.");
            return ExitCodes.Ok;
        });
        return new Command("permissions", "Manage AMQP permissions per vhost (enforced with Security:Authorization)") { list, set, clear };
    }
}
