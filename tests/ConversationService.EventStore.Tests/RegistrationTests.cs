using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

[Collection(PostgresCollection.Name)]
public sealed class RegistrationTests(PostgresFixture db)
{
    [Fact]
    public void Given_event_types_When_registered_Then_names_are_snake_case_of_the_type_name()
    {
        var registry = new EventTypeRegistry().Register<TurnAppended>().Register<Noted>();

        Assert.Equal("turn_appended", registry.NameOf(typeof(TurnAppended)));
        Assert.Equal(typeof(Noted), registry.TypeOf("noted"));
        Assert.Throws<InvalidOperationException>(() => registry.NameOf(typeof(Blocked)));
    }

    [Theory]
    [InlineData("Conversations")]
    [InlineData("conv-ersations")]
    [InlineData("x; DROP TABLE y")]
    [InlineData("")]
    public void Given_unsafe_schema_When_resolving_options_Then_validation_names_the_setting(string schema)
    {
        var services = new ServiceCollection();
        services.AddSingleton(db.DataSource);
        services.AddEventStore(store => store.Options(options => options.Schema = schema));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<EventStore>());

        Assert.Contains("EventStore:Schema", error.Message);
    }

    [Theory]
    [InlineData("ParkAfterAttempts", "0")]
    [InlineData("RetryDelay", "00:00:00")]
    [InlineData("MaxLagEvents", "0")]
    [InlineData("MaxLagSeconds", "0")]
    [InlineData("MaxLagSeconds", "86401")]
    public void Given_an_out_of_range_daemon_setting_When_resolving_options_Then_validation_names_it(string key, string value)
    {
        var services = new ServiceCollection();
        services.AddSingleton(db.DataSource);
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"EventStore:{key}"] = value }).Build());
        services.AddEventStore(store => store.Events(Register));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<EventStore>());

        Assert.Contains($"EventStore:{key}", error.Message);
    }

    [Fact]
    public async Task Given_configuration_only_When_host_starts_Then_connection_and_schema_come_from_it()
    {
        var schema = PostgresFixture.NewSchema();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = db.ConnectionString,
            ["EventStore:Schema"] = schema,
            ["EventStore:PollInterval"] = "00:00:00.050",
        });
        builder.Services.AddEventStore(store => store.Events(Register).InlineProjection<NoteCounter>());
        using var host = builder.Build();

        await host.StartAsync();
        var store = host.Services.GetRequiredService<EventStore>();
        await store.AppendAsync(Tenant, "s", StreamType, Notes("a"), null, default);
        await host.StopAsync();

        Assert.Equal(TimeSpan.FromMilliseconds(50), store.Options.PollInterval);
        Assert.Equal(1L, await db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.events WHERE tenant_id = '{Tenant}'"));
        Assert.Equal(1, await db.ScalarAsync<int>($"SELECT notes FROM {schema}.note_counts"));
    }

    [Fact]
    public void Given_no_connection_configured_When_resolving_the_store_Then_the_error_says_what_to_set()
    {
        var services = new ServiceCollection();
        services.AddEventStore(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<EventStore>());

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
        var tuned = new Npgsql.NpgsqlConnectionStringBuilder(EventStoreServiceCollectionExtensions.Tune(connectionString));

        Assert.Equal(expected, tuned.SslMode.ToString());
    }

    [Fact]
    public void Given_explicit_pool_settings_When_tuned_Then_they_are_kept_and_missing_ones_get_defaults()
    {
        var kept = new Npgsql.NpgsqlConnectionStringBuilder(
            EventStoreServiceCollectionExtensions.Tune("Host=localhost;Max Auto Prepare=5;No Reset On Close=false"));
        var added = new Npgsql.NpgsqlConnectionStringBuilder(EventStoreServiceCollectionExtensions.Tune("Host=localhost"));

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
        var tuned = new Npgsql.NpgsqlConnectionStringBuilder(EventStoreServiceCollectionExtensions.Tune(connectionString));

        Assert.Equal((maxPoolSize, timeoutSeconds), (tuned.MaxPoolSize, tuned.Timeout));
    }

    [Fact]
    public void Given_Postgres_settings_When_the_data_source_is_built_Then_they_bound_its_pool()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = "Host=localhost;Database=d",
            ["Postgres:MaxPoolSize"] = "9",
            ["Postgres:ConnectionTimeout"] = "00:00:02.500",
        }).Build());
        services.AddEventStore(_ => { });
        using var provider = services.BuildServiceProvider();

        var settings = new Npgsql.NpgsqlConnectionStringBuilder(provider.GetRequiredService<Npgsql.NpgsqlDataSource>().ConnectionString);

        Assert.Equal((9, 3), (settings.MaxPoolSize, settings.Timeout));
    }

    [Theory]
    [InlineData("Postgres:MaxPoolSize", "0")]
    [InlineData("Postgres:ConnectionTimeout", "00:00:00")]
    public void Given_an_invalid_Postgres_setting_When_resolving_the_store_Then_validation_names_the_setting(string key, string value)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = "Host=localhost;Database=d",
            [key] = value,
        }).Build());
        services.AddEventStore(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<EventStore>());

        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void Given_a_pool_the_daemon_and_group_commit_would_fill_When_resolving_the_store_Then_it_refuses_naming_the_setting()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Npgsql.NpgsqlDataSource.Create("Host=localhost;Database=d;Maximum Pool Size=1"));
        services.AddEventStore(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<EventStore>());

        Assert.Contains("Postgres:MaxPoolSize", error.Message);
    }

    [Fact]
    public async Task Given_a_loopback_server_When_the_store_connects_Then_the_session_is_not_encrypted()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = db.ConnectionString,
        });
        builder.Services.AddEventStore(_ => { });
        using var host = builder.Build();
        var dataSource = host.Services.GetRequiredService<Npgsql.NpgsqlDataSource>();

        await using var command = dataSource.CreateCommand(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)");
        var encrypted = (bool)(await command.ExecuteScalarAsync())!;

        Assert.False(encrypted);
    }
}
