using ConversationService.Storage;
using ConversationService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConversationService.Tests.Storage;

/// <summary>The event store's settings (EventStore, Postgres) and the one connection pool they shape.</summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class StorageOptionsTests(ServiceFixture fixture)
{
    [Theory]
    [InlineData("EventStore:Schema", "Conversations")]
    [InlineData("EventStore:Schema", "conv-ersations")]
    [InlineData("EventStore:Schema", "x; DROP TABLE y")]
    [InlineData("EventStore:AppendWriters", "0")]
    [InlineData("EventStore:MaxAppendsPerCommit", "1001")]
    [InlineData("EventStore:PollInterval", "00:00:00")]
    [InlineData("EventStore:MaxLagEvents", "0")]
    [InlineData("EventStore:MaxLagSeconds", "0")]
    [InlineData("EventStore:MaxLagSeconds", "86401")]
    [InlineData("Postgres:MaxPoolSize", "0")]
    [InlineData("Postgres:ConnectionTimeout", "00:00:00")]
    public void Given_an_invalid_event_store_setting_When_the_service_starts_Then_it_refuses_naming_the_key(string key, string value)
    {
        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?> { [key] = value }), key);
    }

    [Fact]
    public void Given_a_pool_the_daemon_and_the_group_commit_would_fill_When_the_service_starts_Then_it_refuses_naming_the_pool_size()
    {
        var settings = fixture.StartSettings(new Dictionary<string, string?>
        {
            ["Postgres:MaxPoolSize"] = $"{StorageModule.DaemonConnections + 4}",
            ["EventStore:AppendWriters"] = "4",
        });

        ServiceEntryPoint.AssertRefusesToStart(settings, "Postgres:MaxPoolSize");
    }

    [Fact]
    public async Task Given_a_pool_too_small_in_a_configuration_source_the_host_adds_late_When_the_service_starts_Then_it_refuses_naming_the_pool_size()
    {
        // A test host's settings (like any source added after the service registered its services) reach the bound
        // options, which are what the pool is built from.
        await using var host = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Postgres:MaxPoolSize"] = $"{StorageModule.DaemonConnections + 4}",
            ["EventStore:AppendWriters"] = "4",
        });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Postgres:MaxPoolSize", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_connection_string_whose_own_pool_the_daemon_would_fill_When_the_service_starts_Then_it_refuses_naming_that_setting()
    {
        // The connection string's Maximum Pool Size wins over Postgres:MaxPoolSize (20 by default), so it is checked.
        var settings = fixture.StartSettings(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = $"{fixture.ConnectionString};Maximum Pool Size={StorageModule.DaemonConnections + 1}",
        });

        ServiceEntryPoint.AssertRefusesToStart(settings, "Maximum Pool Size in ConnectionStrings:Postgres");
    }

    [Fact]
    public void Given_no_connection_configured_When_the_data_source_is_built_Then_the_error_says_what_to_set()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataSources.Create(null, new PostgresOptions()));

        Assert.Contains("ConnectionStrings:Postgres", error.Message);
    }

    [Theory]
    [InlineData("Host=localhost;Database=d", "Disable")]
    [InlineData("Host=127.0.0.1:5433;Database=d", "Disable")]
    [InlineData("Host=[::1]:5433;Database=d", "Disable")]
    [InlineData("Host=/var/run/postgresql;Database=d", "Disable")]
    [InlineData("Host=db.internal;Database=d", "Prefer")]
    [InlineData("Host=localhost,db.internal;Database=d", "Prefer")]
    [InlineData("Host=localhost;SSL Mode=Require;Trust Server Certificate=true", "Require")]
    [InlineData("Host=localhost;sslmode=VerifyFull", "VerifyFull")]
    public void Given_a_connection_string_When_tuned_Then_TLS_is_skipped_only_on_loopback_and_never_overrides_the_setting(
        string connectionString, string expected)
    {
        var tuned = new NpgsqlConnectionStringBuilder(DataSources.Tune(connectionString));

        Assert.Equal(expected, tuned.SslMode.ToString());
    }

    [Fact]
    public void Given_explicit_settings_When_tuned_Then_they_are_kept_and_missing_ones_get_defaults()
    {
        var kept = new NpgsqlConnectionStringBuilder(DataSources.Tune("Host=localhost;Max Auto Prepare=5;No Reset On Close=false"));
        var added = new NpgsqlConnectionStringBuilder(DataSources.Tune("Host=localhost"));

        Assert.Equal((5, false), (kept.MaxAutoPrepare, kept.NoResetOnClose));
        Assert.Equal((64, true), (added.MaxAutoPrepare, added.NoResetOnClose));
    }

    [Theory]
    [InlineData("Host=localhost", 20, 5)]
    [InlineData("Host=localhost;Maximum Pool Size=7", 7, 5)]
    [InlineData("Host=localhost;MaxPoolSize=7;Timeout=3", 7, 3)]
    public void Given_a_connection_string_When_tuned_Then_the_pool_is_bounded_by_default_unless_the_string_sets_its_own(
        string connectionString, int maxPoolSize, int timeoutSeconds)
    {
        var tuned = new NpgsqlConnectionStringBuilder(DataSources.Tune(connectionString));

        Assert.Equal((maxPoolSize, timeoutSeconds), (tuned.MaxPoolSize, tuned.Timeout));
    }

    [Fact]
    public async Task Given_Postgres_settings_When_the_service_starts_Then_they_bound_the_one_pool_Marten_uses_too()
    {
        await using var host = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Postgres:MaxPoolSize"] = "12",
            ["Postgres:ConnectionTimeout"] = "00:00:02.500",
        });

        var settings = new NpgsqlConnectionStringBuilder(host.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString);

        Assert.Equal((12, 3), (settings.MaxPoolSize, settings.Timeout));
        // Marten takes the service's data source (UseNpgsqlDataSource) rather than building a pool of its own.
        await using var session = host.Services.GetRequiredService<Marten.IDocumentStore>().QuerySession();
        Assert.Equal(12, new NpgsqlConnectionStringBuilder(session.Connection!.ConnectionString).MaxPoolSize);
    }

    [Fact]
    public async Task Given_a_loopback_server_When_the_service_connects_Then_the_session_is_not_encrypted()
    {
        var dataSource = fixture.Factory.Services.GetRequiredService<NpgsqlDataSource>();

        await using var command = dataSource.CreateCommand(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)");

        Assert.False((bool)(await command.ExecuteScalarAsync())!);
    }
}
