// PeopleStore over SQLite (docs/SCHEMA.md "People"). The ingest path binds prepared
// statements inside one transaction per batch; aggregates are UPSERTs that add the
// batch's deltas to what is stored.
#include "store/internal/sqlite_people.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

namespace mica::store::internal {

namespace {

using nlohmann::json;

constexpr const char* kPersonColumns =
    "id, name, email, type, country, city, timezone, manager, start_date, phone_hash, "
    "payment_hash, address_hash, resume_hash, payment_type, referred_by, laptop_serial, "
    "shipping_address_hash, created_at, updated_at, blocked, blocked_at, blocked_reason, "
    "approved_by, approved_at, approved_score";

Person ReadPerson(const Statement& q) {
  Person p;
  std::string* fields[] = {&p.id,          &p.name,         &p.email,        &p.type,
                           &p.country,     &p.city,         &p.timezone,     &p.manager,
                           &p.start_date,  &p.phone_hash,   &p.payment_hash, &p.address_hash,
                           &p.resume_hash, &p.payment_type, &p.referred_by,  &p.laptop_serial,
                           &p.shipping_address_hash};
  int col = 0;
  for (auto* f : fields) *f = q.Text(col++);
  p.created_at = q.Int(17);
  p.updated_at = q.Int(18);
  p.blocked = q.Int(19) != 0;
  p.blocked_at = q.Int(20);
  p.blocked_reason = q.Text(21);
  p.approved_by = q.Text(22);
  p.approved_at = q.Int(23);
  p.approved_score = ::sqlite3_column_double(q.get(), 24);
  return p;
}

// The HR fields whose changes are kept as history.
struct Tracked {
  const char* name;
  std::string Person::*field;
};
constexpr Tracked kTracked[] = {
    {"payment_hash", &Person::payment_hash},   {"payment_type", &Person::payment_type},
    {"phone_hash", &Person::phone_hash},       {"address_hash", &Person::address_hash},
    {"laptop_serial", &Person::laptop_serial}, {"shipping_address_hash", &Person::shipping_address_hash},
};

json StringsJson(const std::vector<std::string>& v) { return json(v); }

std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& s : j)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

json SignalsJson(const std::vector<SignalHit>& hits) {
  json arr = json::array();
  for (const auto& h : hits)
    arr.push_back({{"signal", h.signal}, {"points", h.points}, {"explanation", h.explanation},
                   {"evidence", h.evidence}});
  return arr;
}

std::vector<SignalHit> ReadSignals(const std::string& text) {
  std::vector<SignalHit> out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& h : j) {
    if (!h.is_object()) continue;
    SignalHit s;
    s.signal = h.value("signal", "");
    s.points = h.contains("points") && h["points"].is_number() ? h["points"].get<double>() : 0;
    s.explanation = h.value("explanation", "");
    if (h.contains("evidence") && h["evidence"].is_array())
      for (const auto& e : h["evidence"])
        if (e.is_string()) s.evidence.push_back(e.get<std::string>());
    out.push_back(std::move(s));
  }
  return out;
}

// Block format: per event, varint(zigzag(at)), varint(asn), then the ten strings person,
// source_ip, device, user_agent, action, target, mfa_device, session, country, intel, each
// as varint(length) + bytes.
void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

std::array<std::string AccessEvent::*, 10> EventStrings() {
  return {&AccessEvent::person,  &AccessEvent::source_ip,  &AccessEvent::device,
          &AccessEvent::user_agent, &AccessEvent::action, &AccessEvent::target,
          &AccessEvent::mfa_device, &AccessEvent::session, &AccessEvent::country,
          &AccessEvent::intel};
}

void PackEvents(std::span<const AccessEvent> events, std::string& out) {
  out.clear();
  for (const auto& e : events) {
    PutVarint(out, (static_cast<std::uint64_t>(e.at) << 1) ^ static_cast<std::uint64_t>(e.at >> 63));
    PutVarint(out, static_cast<std::uint64_t>(e.asn));
    for (auto field : EventStrings()) {
      const std::string& v = e.*field;
      PutVarint(out, v.size());
      out.append(v);
    }
  }
}

// Appends the events of one block to `out`; false when the blob is malformed.
bool UnpackEvents(std::string_view in, std::vector<AccessEvent>& out) {
  while (!in.empty()) {
    AccessEvent e;
    std::uint64_t at, asn;
    if (!GetVarint(in, at) || !GetVarint(in, asn)) return false;
    e.at = static_cast<std::int64_t>(at >> 1) ^ -static_cast<std::int64_t>(at & 1);
    e.asn = static_cast<std::int64_t>(asn);
    for (auto field : EventStrings()) {
      std::uint64_t len;
      if (!GetVarint(in, len) || len > in.size()) return false;
      (e.*field).assign(in.substr(0, len));
      in.remove_prefix(len);
    }
    out.push_back(std::move(e));
  }
  return true;
}

}  // namespace

Status SqlitePeopleStore::Init() {
  struct {
    Statement* stmt;
    const char* sql;
  } prepared[] = {
      {&insert_event_,
       "INSERT INTO access_event_block (first_at, last_at, events, data) VALUES (?1, ?2, ?3, ?4)"},
      {&upsert_hour_,
       "INSERT INTO person_hour (day, person, hour, events) VALUES (?1, ?2, ?3, ?4) "
       "ON CONFLICT (day, person, hour) DO UPDATE SET events = events + excluded.events"},
      {&upsert_country_,
       "INSERT INTO person_country (day, person, country, events, first_at, last_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (day, person, country) DO UPDATE SET "
       "events = events + excluded.events, first_at = min(first_at, excluded.first_at), "
       "last_at = max(last_at, excluded.last_at)"},
      {&upsert_link_,
       "INSERT INTO person_link (kind, value, person, first_at, last_at, events) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (kind, value, person) DO UPDATE SET "
       "events = events + excluded.events, first_at = min(first_at, excluded.first_at), "
       "last_at = max(last_at, excluded.last_at)"},
      {&upsert_session_,
       "INSERT INTO person_session (session, person, first_at, last_at, events) "
       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session, person) DO UPDATE SET "
       "events = events + excluded.events, first_at = min(first_at, excluded.first_at), "
       "last_at = max(last_at, excluded.last_at)"},
      {&upsert_travel_,
       "INSERT OR REPLACE INTO person_travel (person, at, has_geo, lat, lon, country, ip) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&upsert_observation_,
       "INSERT INTO risk_observation (day, person, signal, key, first_at, last_at, events, "
       "evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
       "ON CONFLICT (day, person, signal, key) DO UPDATE SET events = events + excluded.events, "
       "first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)"},
      {&upsert_use_,
       "INSERT INTO identity_use (target, kind, value, first_at, last_at, events) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (target, kind, value) DO UPDATE SET "
       "events = events + excluded.events, first_at = min(first_at, excluded.first_at), "
       "last_at = max(last_at, excluded.last_at)"},
  };
  for (auto& p : prepared) {
    auto s = db_.Prepare(p.sql);
    if (!s) return Failed(s.error());
    *p.stmt = std::move(*s);
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// People

Result<std::vector<Person>> SqlitePeopleStore::QueryPeople(const std::string& where,
                                                          const std::string& bind) {
  auto q = db_.Prepare(std::string("SELECT ") + kPersonColumns + " FROM person " + where +
                       " ORDER BY id");
  if (!q) return Failed(q.error());
  if (!bind.empty()) q->Bind(bind);
  std::vector<Person> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out.push_back(ReadPerson(*q));
  }
  return out;
}

Result<ImportStats> SqlitePeopleStore::UpsertPeople(const std::vector<Person>& people,
                                                    UnixSeconds now) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto find = db_.Prepare(std::string("SELECT ") + kPersonColumns + " FROM person WHERE id = ?1");
  auto upsert = db_.Prepare(
      "INSERT INTO person (id, name, email, type, country, city, timezone, manager, start_date, "
      "phone_hash, payment_hash, address_hash, resume_hash, payment_type, referred_by, "
      "laptop_serial, shipping_address_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
      "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18) "
      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
      "type = excluded.type, country = excluded.country, city = excluded.city, "
      "timezone = excluded.timezone, manager = excluded.manager, start_date = excluded.start_date, "
      "phone_hash = excluded.phone_hash, payment_hash = excluded.payment_hash, "
      "address_hash = excluded.address_hash, resume_hash = excluded.resume_hash, "
      "payment_type = excluded.payment_type, referred_by = excluded.referred_by, "
      "laptop_serial = excluded.laptop_serial, "
      "shipping_address_hash = excluded.shipping_address_hash, updated_at = excluded.updated_at");
  auto change = db_.Prepare(
      "INSERT INTO person_change (person, field, before, after, at) VALUES (?1, ?2, ?3, ?4, ?5)");
  for (auto* s : {&find, &upsert, &change})
    if (!*s) return Failed(s->error());
  ImportStats stats;
  for (const auto& p : people) {
    find->Bind(p.id);
    auto row = find->Step();
    if (!row) return Failed(row.error());
    std::optional<Person> old;
    if (*row) old = ReadPerson(*find);
    find->Reset();
    if (old) {
      bool same = old->name == p.name && old->email == p.email && old->type == p.type &&
                  old->country == p.country && old->city == p.city && old->timezone == p.timezone &&
                  old->manager == p.manager && old->start_date == p.start_date &&
                  old->resume_hash == p.resume_hash && old->referred_by == p.referred_by;
      bool payment = false;
      for (const auto& t : kTracked) {
        if ((*old).*t.field == p.*t.field) continue;
        same = false;
        if (std::string_view(t.name) == "payment_hash") payment = true;
        if (auto s = change->Bind(p.id, t.name, (*old).*t.field, p.*t.field, now).Run(); !s)
          return Failed(s.error());
      }
      if (same) {
        ++stats.unchanged;
        continue;
      }
      ++stats.updated;
      if (payment) ++stats.payment_changes;
    } else {
      ++stats.added;
    }
    upsert->Bind(p.id, p.name, p.email, p.type, p.country, p.city, p.timezone, p.manager,
                 p.start_date, p.phone_hash, p.payment_hash, p.address_hash, p.resume_hash,
                 p.payment_type, p.referred_by, p.laptop_serial, p.shipping_address_hash, now);
    if (auto s = upsert->Run(); !s) return Failed(s.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return stats;
}

Result<std::vector<Person>> SqlitePeopleStore::ListPeople() { return QueryPeople("", ""); }

Result<Person> SqlitePeopleStore::GetPerson(const std::string& id) {
  auto r = QueryPeople("WHERE id = ?1", id);
  if (!r) return tl::unexpected(r.error());
  if (r->empty()) return Fail(ErrorCode::kNotFound, "no person '" + id + "' (mica people list)");
  return std::move(r->front());
}

Result<std::vector<PersonChange>> SqlitePeopleStore::ListChanges(const std::string& person) {
  auto q = db_.Prepare(
      "SELECT person, field, before, after, at FROM person_change WHERE person = ?1 ORDER BY id");
  if (!q) return Failed(q.error());
  q->Bind(person);
  std::vector<PersonChange> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out.push_back({q->Text(0), q->Text(1), q->Text(2), q->Text(3), q->Int(4)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Ownership

Result<std::int64_t> SqlitePeopleStore::AddOwnerRule(const OwnerRule& r) {
  auto q = db_.Prepare(
      "INSERT INTO owner_rule (kind, pattern, owner, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (kind, pattern) DO UPDATE SET owner = excluded.owner RETURNING id");
  if (!q) return Failed(q.error());
  q->Bind(r.kind, r.pattern, r.owner, r.created_at);
  auto row = q->Step();
  if (!row) return Failed(row.error());
  std::int64_t id = *row ? q->Int(0) : 0;
  q->Reset();
  return id;
}

Status SqlitePeopleStore::RemoveOwnerRule(std::int64_t id) {
  auto q = db_.Prepare("DELETE FROM owner_rule WHERE id = ?1");
  if (!q) return Failed(q.error());
  if (auto s = q->Bind(id).Run(); !s) return Failed(s.error());
  if (::sqlite3_changes(db_.get()) == 0)
    return Fail(ErrorCode::kNotFound, "no owner rule " + std::to_string(id));
  return {};
}

Result<std::vector<OwnerRule>> SqlitePeopleStore::ListOwnerRules() {
  auto q = db_.Prepare("SELECT id, kind, pattern, owner, created_at FROM owner_rule ORDER BY id");
  if (!q) return Failed(q.error());
  std::vector<OwnerRule> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out.push_back({q->Int(0), q->Text(1), q->Text(2), q->Text(3), q->Int(4)});
  }
  return out;
}

Status SqlitePeopleStore::SetTag(const std::string& fingerprint, const std::string& tag) {
  auto q = db_.Prepare("INSERT OR IGNORE INTO identity_tag (fingerprint, tag) VALUES (?1, ?2)");
  if (!q) return Failed(q.error());
  if (auto s = q->Bind(fingerprint, tag).Run(); !s) return Failed(s.error());
  return {};
}

Result<std::map<std::string, std::vector<std::string>>> SqlitePeopleStore::Tags() {
  auto q = db_.Prepare("SELECT fingerprint, tag FROM identity_tag ORDER BY fingerprint, tag");
  if (!q) return Failed(q.error());
  std::map<std::string, std::vector<std::string>> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out[q->Text(0)].push_back(q->Text(1));
  }
  return out;
}

Status SqlitePeopleStore::ReplaceOwners(const std::vector<OwnerAssignment>& assignments,
                                        UnixSeconds now) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  if (auto s = db_.Exec("DELETE FROM identity_owner"); !s) return Failed(s.error());
  auto q = db_.Prepare(
      "INSERT OR REPLACE INTO identity_owner (fingerprint, owner, source, updated_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!q) return Failed(q.error());
  for (const auto& a : assignments)
    if (auto s = q->Bind(a.fingerprint, a.owner, a.source, now).Run(); !s) return Failed(s.error());
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Result<std::vector<OwnerAssignment>> SqlitePeopleStore::ListOwners() {
  auto q = db_.Prepare("SELECT fingerprint, owner, source FROM identity_owner ORDER BY fingerprint");
  if (!q) return Failed(q.error());
  std::vector<OwnerAssignment> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out.push_back({q->Text(0), q->Text(1), q->Text(2)});
  }
  return out;
}

Result<std::map<std::string, std::string>> SqlitePeopleStore::OwnersByFingerprint() {
  auto list = ListOwners();
  if (!list) return tl::unexpected(list.error());
  std::map<std::string, std::string> out;
  for (auto& a : *list) out[a.fingerprint] = std::move(a.owner);
  return out;
}

// ---------------------------------------------------------------------------------------
// Ingest

Status SqlitePeopleStore::Ingest(const IngestBatch& b) {
  if (auto s = AppendAccessEvents(b.events); !s) return s;
  return CommitIngest(b);
}

Status SqlitePeopleStore::AppendAccessEvents(std::span<const AccessEvent> events) {
  if (!ingest_) {
    auto tx = Transaction::Begin(db_);
    if (!tx) return Failed(tx.error());
    ingest_.emplace(std::move(*tx));
  }
  if (events.empty()) return {};
  PackEvents(events, pack_);
  UnixSeconds first = events.front().at, last = events.front().at;
  for (const auto& e : events) {
    first = std::min(first, e.at);
    last = std::max(last, e.at);
  }
  insert_event_.Bind(first, last, static_cast<std::int64_t>(events.size()), nullptr);
  // SQLITE_STATIC: pack_ outlives the step; Bind(ByteView) would copy the block.
  ::sqlite3_bind_blob64(insert_event_.get(), 4, pack_.data(), pack_.size(), SQLITE_STATIC);
  if (auto s = insert_event_.Run(); !s) {
    ingest_.reset();  // rolls back
    return Failed(s.error());
  }
  return {};
}

Status SqlitePeopleStore::CommitIngest(const IngestBatch& b) {
  if (!ingest_) {
    auto tx = Transaction::Begin(db_);
    if (!tx) return Failed(tx.error());
    ingest_.emplace(std::move(*tx));
  }
  // Any failure below leaves through ingest_.reset(): the whole batch rolls back.
  auto fail = [&](const Error& e) {
    ingest_.reset();
    return Failed(e);
  };
  for (const auto& h : b.hours)
    if (auto s = upsert_hour_.Bind(h.day, h.person, h.hour, h.events).Run(); !s)
      return fail(s.error());
  for (const auto& c : b.countries)
    if (auto s = upsert_country_.Bind(c.day, c.person, c.country, c.events, c.first_at, c.last_at)
                     .Run();
        !s)
      return fail(s.error());
  for (const auto& l : b.links)
    if (auto s = upsert_link_.Bind(l.kind, l.value, l.person, l.first_at, l.last_at, l.events).Run();
        !s)
      return fail(s.error());
  for (const auto& x : b.sessions)
    if (auto s = upsert_session_.Bind(x.session, x.person, x.first_at, x.last_at, x.events).Run();
        !s)
      return fail(s.error());
  for (const auto& t : b.travel) {
    upsert_travel_.Bind(t.person, t.at, t.has_geo, nullptr, nullptr, t.country, t.ip);
    ::sqlite3_bind_double(upsert_travel_.get(), 4, t.lat);
    ::sqlite3_bind_double(upsert_travel_.get(), 5, t.lon);
    if (auto s = upsert_travel_.Run(); !s) return fail(s.error());
  }
  for (const auto& o : b.observations)
    if (auto s = upsert_observation_
                     .Bind(o.day, o.person, o.signal, o.key, o.first_at, o.last_at, o.events,
                           o.evidence)
                     .Run();
        !s)
      return fail(s.error());
  for (const auto& u : b.uses)
    if (auto s = upsert_use_.Bind(u.target, u.kind, u.value, u.first_at, u.last_at, u.events).Run();
        !s)
      return fail(s.error());
  auto tx = std::move(*ingest_);
  ingest_.reset();
  if (auto s = tx.Commit(); !s) return Failed(s.error());
  return {};
}

Result<IngestState> SqlitePeopleStore::LoadIngestState() {
  IngestState st;
  auto t = db_.Prepare("SELECT person, at, has_geo, lat, lon, country, ip FROM person_travel");
  if (!t) return Failed(t.error());
  for (;;) {
    auto row = t->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    TravelState x;
    x.person = t->Text(0);
    x.at = t->Int(1);
    x.has_geo = t->Int(2) != 0;
    x.lat = ::sqlite3_column_double(t->get(), 3);
    x.lon = ::sqlite3_column_double(t->get(), 4);
    x.country = t->Text(5);
    x.ip = t->Text(6);
    st.travel.push_back(std::move(x));
  }
  auto u = db_.Prepare("SELECT target, kind, value, first_at, last_at, events FROM identity_use");
  if (!u) return Failed(u.error());
  for (;;) {
    auto row = u->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    st.uses.push_back({u->Text(0), u->Text(1), u->Text(2), u->Int(3), u->Int(4), u->Int(5)});
  }
  return st;
}

Result<std::vector<AccessEvent>> SqlitePeopleStore::RecentEvents(const std::string& person,
                                                                 int limit) {
  // Newest block first; within a block, newest event first.
  auto q = db_.Prepare("SELECT id, data FROM access_event_block ORDER BY id DESC");
  if (!q) return Failed(q.error());
  std::vector<AccessEvent> out, block;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    block.clear();
    Bytes data = q->Blob(1);
    if (!UnpackEvents(AsChars(data), block))
      return Fail(ErrorCode::kInput, "inventory " + db_.path() + ": access_event_block " +
                                         std::to_string(q->Int(0)) + " is damaged");
    for (auto it = block.rbegin(); it != block.rend(); ++it) {
      if (!person.empty() && it->person != person) continue;
      out.push_back(std::move(*it));
      if (limit > 0 && static_cast<int>(out.size()) >= limit) {
        q->Reset();
        return out;
      }
    }
  }
  return out;
}

Result<std::int64_t> SqlitePeopleStore::CountEvents() {
  auto n = db_.QueryInt("SELECT coalesce(sum(events), 0) FROM access_event_block");
  if (!n) return Failed(n.error());
  return n->value_or(0);
}

Result<std::vector<std::string>> SqlitePeopleStore::TargetsOf(const std::string& person) {
  auto q = db_.Prepare(
      "SELECT value FROM person_link WHERE kind = 'target' AND person = ?1 ORDER BY value");
  if (!q) return Failed(q.error());
  q->Bind(person);
  std::vector<std::string> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    out.push_back(q->Text(0));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Devices

Status SqlitePeopleStore::UpsertDevices(const std::vector<Device>& devices) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto q = db_.Prepare(
      "INSERT OR REPLACE INTO device (id, person, serial, managed, software, usb, monitors, "
      "reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!q) return Failed(q.error());
  for (const auto& d : devices) {
    json usb = json::array();
    for (const auto& u : d.usb)
      usb.push_back({{"class", u.device_class}, {"vendor", u.vendor}, {"product", u.product},
                     {"name", u.name}});
    const auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
    if (auto s = q->Bind(d.id, d.person, d.serial, d.managed, dump(StringsJson(d.software)),
                         dump(usb), dump(StringsJson(d.monitors)), d.reported_at)
                     .Run();
        !s)
      return Failed(s.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Result<std::vector<Device>> SqlitePeopleStore::ListDevices() {
  auto q = db_.Prepare(
      "SELECT id, person, serial, managed, software, usb, monitors, reported_at FROM device "
      "ORDER BY id");
  if (!q) return Failed(q.error());
  std::vector<Device> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    Device d;
    d.id = q->Text(0);
    d.person = q->Text(1);
    d.serial = q->Text(2);
    d.managed = q->Int(3) != 0;
    d.software = JsonStrings(q->Text(4));
    auto usb = json::parse(q->Text(5), nullptr, false);
    if (usb.is_array())
      for (const auto& u : usb)
        if (u.is_object())
          d.usb.push_back({u.value("class", ""), u.value("vendor", ""), u.value("product", ""),
                           u.value("name", "")});
    d.monitors = JsonStrings(q->Text(6));
    d.reported_at = q->Int(7);
    out.push_back(std::move(d));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Scoring

Result<RiskInput> SqlitePeopleStore::LoadRiskInput(UnixSeconds from, UnixSeconds to,
                                                   UnixSeconds changes_from) {
  RiskInput in;
  in.from = from;
  in.to = to;
  auto people = ListPeople();
  if (!people) return tl::unexpected(people.error());
  in.people = std::move(*people);
  const std::int64_t day_from = from / 86400, day_to = to / 86400;
  auto each = [&](const char* sql, auto bind, auto read) -> Status {
    auto q = db_.Prepare(sql);
    if (!q) return Failed(q.error());
    bind(*q);
    for (;;) {
      auto row = q->Step();
      if (!row) return Failed(row.error());
      if (!*row) break;
      read(*q);
    }
    return {};
  };
  auto days = [&](Statement& q) { q.Bind(day_from, day_to); };
  auto times = [&](Statement& q) { q.Bind(from, to); };
  Status st = each(
      "SELECT person, day, hour, events FROM person_hour WHERE day BETWEEN ?1 AND ?2", days,
      [&](Statement& q) {
        in.hours.push_back({q.Text(0), q.Int(1), static_cast<int>(q.Int(2)), q.Int(3)});
      });
  if (!st) return tl::unexpected(st.error());
  st = each(
      "SELECT person, day, country, events, first_at, last_at FROM person_country "
      "WHERE day BETWEEN ?1 AND ?2 AND last_at >= ?3 AND first_at <= ?4",
      [&](Statement& q) { q.Bind(day_from, day_to, from, to); },
      [&](Statement& q) {
        in.countries.push_back({q.Text(0), q.Int(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5)});
      });
  if (!st) return tl::unexpected(st.error());
  st = each(
      "SELECT kind, value, person, first_at, last_at, events FROM person_link "
      "WHERE last_at >= ?1 AND first_at <= ?2 AND kind != 'target'",
      times, [&](Statement& q) {
        in.links.push_back({q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5)});
      });
  if (!st) return tl::unexpected(st.error());
  st = each(
      "SELECT session, person, first_at, last_at, events FROM person_session "
      "WHERE last_at >= ?1 AND first_at <= ?2",
      times, [&](Statement& q) {
        in.sessions.push_back({q.Text(0), q.Text(1), q.Int(2), q.Int(3), q.Int(4)});
      });
  if (!st) return tl::unexpected(st.error());
  st = each(
      "SELECT person, signal, key, day, first_at, last_at, events, evidence FROM "
      "risk_observation WHERE day BETWEEN ?1 AND ?2 AND last_at >= ?3 AND first_at <= ?4",
      [&](Statement& q) { q.Bind(day_from, day_to, from, to); },
      [&](Statement& q) {
        in.observations.push_back({q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5),
                                   q.Int(6), q.Text(7)});
      });
  if (!st) return tl::unexpected(st.error());
  st = each(
      "SELECT person, field, before, after, at FROM person_change WHERE at >= ?1 AND at <= ?2 "
      "ORDER BY id",
      [&](Statement& q) { q.Bind(changes_from, to); },
      [&](Statement& q) {
        in.changes.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4)});
      });
  if (!st) return tl::unexpected(st.error());
  auto devices = ListDevices();
  if (!devices) return tl::unexpected(devices.error());
  in.devices = std::move(*devices);
  return in;
}

Status SqlitePeopleStore::RecordScores(const std::vector<RiskScore>& scores) {
  auto tx = Transaction::Begin(db_);
  if (!tx) return Failed(tx.error());
  auto q = db_.Prepare(
      "INSERT INTO risk_score (person, at, window_from, window_to, score, signals) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!q) return Failed(q.error());
  for (const auto& s : scores) {
    q->Bind(s.person, s.at, s.window_from, s.window_to, nullptr,
            SignalsJson(s.signals).dump(-1, ' ', false, json::error_handler_t::replace));
    ::sqlite3_bind_double(q->get(), 5, s.score);
    if (auto st = q->Run(); !st) return Failed(st.error());
  }
  if (auto s = tx->Commit(); !s) return Failed(s.error());
  return {};
}

Result<std::vector<RiskScore>> SqlitePeopleStore::QueryScores(const std::string& sql,
                                                              const std::string& bind, int limit) {
  auto q = db_.Prepare(sql);
  if (!q) return Failed(q.error());
  if (!bind.empty()) q->Bind(bind, limit <= 0 ? -1 : limit);
  std::vector<RiskScore> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return Failed(row.error());
    if (!*row) break;
    RiskScore s;
    s.person = q->Text(0);
    s.at = q->Int(1);
    s.window_from = q->Int(2);
    s.window_to = q->Int(3);
    s.score = ::sqlite3_column_double(q->get(), 4);
    s.signals = ReadSignals(q->Text(5));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<RiskScore>> SqlitePeopleStore::LatestScores() {
  return QueryScores(
      "SELECT person, at, window_from, window_to, score, signals FROM risk_score WHERE id IN "
      "(SELECT max(id) FROM risk_score GROUP BY person) ORDER BY score DESC, person",
      "", 0);
}

Result<std::vector<RiskScore>> SqlitePeopleStore::ScoreHistory(const std::string& person,
                                                               int limit) {
  return QueryScores(
      "SELECT person, at, window_from, window_to, score, signals FROM risk_score "
      "WHERE person = ?1 ORDER BY id DESC LIMIT ?2",
      person, limit);
}

// ---------------------------------------------------------------------------------------
// Blocks

Status SqlitePeopleStore::Block(const std::string& person, const std::string& reason,
                                UnixSeconds at) {
  auto q = db_.Prepare(
      "UPDATE person SET blocked = 1, blocked_at = ?2, blocked_reason = ?3 WHERE id = ?1");
  if (!q) return Failed(q.error());
  if (auto s = q->Bind(person, at, reason).Run(); !s) return Failed(s.error());
  if (::sqlite3_changes(db_.get()) == 0)
    return Fail(ErrorCode::kNotFound, "no person '" + person + "'");
  return {};
}

Status SqlitePeopleStore::Approve(const std::string& person, const std::string& by, double score,
                                  UnixSeconds at) {
  auto q = db_.Prepare(
      "UPDATE person SET blocked = 0, approved_by = ?2, approved_at = ?3, approved_score = ?4 "
      "WHERE id = ?1");
  if (!q) return Failed(q.error());
  q->Bind(person, by, at, nullptr);
  ::sqlite3_bind_double(q->get(), 4, score);
  if (auto s = q->Run(); !s) return Failed(s.error());
  if (::sqlite3_changes(db_.get()) == 0)
    return Fail(ErrorCode::kNotFound, "no person '" + person + "'");
  return {};
}

}  // namespace mica::store::internal
