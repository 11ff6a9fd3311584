//! Places, offline: a photo's GPS position → the nearest place, its region and
//! country; a typed name ("Lisbon", "Lisboa", "Portugal", "California",
//! "Paris, Texas") → where to look.
//!
//! The gazetteer is GeoNames' list of every place with 1,000 people or more
//! (170,391 places, 252 countries; GeoNames, CC BY 4.0), made into
//! `data/places.tsv.gz` by `scripts/make_places.py` and compiled into scry:
//! nothing is downloaded at run time. It is read the first time a photo with a
//! position or a place query needs it (about a fifth of a second).
//!
//! A name is resolved in this order: a country ("Portugal"); a place of 100,000
//! people or more, by its name or one of its names in other languages
//! ("Lisboa"), the most populous first; a region ("California"); any other
//! place, the most populous first. A qualifier after a comma picks among places
//! of the same name: "Paris, Texas", "Paris, US", "London, Canada".

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A photo's position, degrees (WGS 84, as EXIF and video metadata give it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

impl Gps {
    /// A position, if both numbers are real coordinates (EXIF blocks with 0/0
    /// or out-of-range values exist; 0,0 is in the Gulf of Guinea and is what
    /// a phone without a fix writes).
    pub fn new(lat: f64, lon: f64) -> Option<Gps> {
        let ok = lat.is_finite()
            && lon.is_finite()
            && lat.abs() <= 90.0
            && lon.abs() <= 180.0
            && !(lat == 0.0 && lon == 0.0);
        ok.then_some(Gps { lat, lon })
    }

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    pub fn km_to(&self, other: &Gps) -> f64 {
        const R: f64 = 6371.0088;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }
}

/// Where a photo was taken, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The nearest place ("Lisbon", "Shibuya").
    pub city: String,
    /// Its region (state, province: "Lisbon", "Tokyo"); may be empty.
    pub region: String,
    /// ISO 3166 country code ("PT").
    pub country: String,
}

impl Place {
    /// The country's name ("Portugal"), or its code when unknown.
    pub fn country_name(&self) -> &str {
        gazetteer()
            .countries
            .get(self.country.as_str())
            .map(String::as_str)
            .unwrap_or(&self.country)
    }

    /// "Shibuya, Tokyo, Japan" (the region left out when it repeats the city).
    pub fn label(&self) -> String {
        let mut parts = vec![self.city.as_str()];
        if !self.region.is_empty() && !self.region.eq_ignore_ascii_case(&self.city) {
            parts.push(&self.region);
        }
        parts.push(self.country_name());
        parts.join(", ")
    }

    /// The words the keyword index gets: place, region and country names.
    pub fn words(&self) -> String {
        format!("{} {} {}", self.city, self.region, self.country_name())
    }
}

/// A photo farther than this from every place in the gazetteer has none (at
/// sea, on a glacier).
pub const MAX_KM: f64 = 50.0;

/// What a typed place name means for a search.
#[derive(Debug, Clone, PartialEq)]
pub enum Where {
    /// Within `km` of a point (a town or city, or coordinates).
    Near { lat: f64, lon: f64, km: f64 },
    /// In a country (ISO code).
    Country(String),
    /// In a region of a country (as the gazetteer names it).
    Region { country: String, region: String },
}

impl Where {
    /// Whether a photo with this position and place is inside.
    pub fn contains(&self, gps: Option<&Gps>, place: Option<&Place>) -> bool {
        self.contains_at(gps, place.map(|p| (p.country.as_str(), p.region.as_str())))
    }

    /// [`Where::contains`], the place given by its country code and region.
    pub fn contains_at(&self, gps: Option<&Gps>, country_region: Option<(&str, &str)>) -> bool {
        match self {
            Where::Near { lat, lon, km } => gps.is_some_and(|g| {
                g.km_to(&Gps {
                    lat: *lat,
                    lon: *lon,
                }) <= *km
            }),
            Where::Country(cc) => country_region.is_some_and(|(c, _)| c.eq_ignore_ascii_case(cc)),
            Where::Region { country, region } => country_region.is_some_and(|(c, r)| {
                c.eq_ignore_ascii_case(country) && r.eq_ignore_ascii_case(region)
            }),
        }
    }
}

/// A resolved name: where to look and how to say it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub place: Where,
    /// "Lisbon, Portugal (within 19 km)", "Portugal", "California, United States".
    pub label: String,
}

/// The radius a town or city's name means: larger for larger places (Lisbon
/// 19 km, Paris 34 km, Tokyo 40 km, a town of 5,000 people 6 km).
pub fn default_km(population: u32) -> f64 {
    (5.0 + (population as f64).sqrt() / 50.0).min(40.0)
}

struct City {
    lat: f32,
    lon: f32,
    population: u32,
    country: [u8; 2],
    region: u32,
    name: Box<str>,
}

/// The gazetteer, read once.
pub struct Gazetteer {
    /// Sorted by latitude.
    cities: Vec<City>,
    regions: Vec<Box<str>>,
    countries: HashMap<String, String>,
    /// Lower-cased name or alternate name → cities, most populous first.
    by_name: HashMap<String, Vec<u32>>,
    /// Lower-cased country name → code.
    country_by_name: HashMap<String, String>,
    /// Lower-cased region name → [`region_key`]s, most populous region first.
    region_by_name: HashMap<String, Vec<u64>>,
    /// The people of a region's places, by [`region_key`].
    region_weight: HashMap<u64, u64>,
}

/// Names of places this populous beat regions of the same name.
const BIG: u32 = 100_000;

static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();

/// The gazetteer compiled into scry, read on first use.
pub fn gazetteer() -> &'static Gazetteer {
    GAZETTEER.get_or_init(Gazetteer::load)
}

/// A region of a country as one integer.
fn region_key(country: [u8; 2], region: u32) -> u64 {
    (u16::from_le_bytes(country) as u64) << 32 | region as u64
}

fn unpack_region(key: u64) -> ([u8; 2], u32) {
    (((key >> 32) as u16).to_le_bytes(), key as u32)
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Gazetteer {
    /// Reads the compiled-in gazetteer anew ([`gazetteer`] keeps one).
    pub fn load() -> Gazetteer {
        let gz: &[u8] = include_bytes!("../data/places.tsv.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .expect("the compiled-in gazetteer decompresses");
        Gazetteer::parse(&text, include_str!("../data/countries.tsv"))
    }

    fn parse(places: &str, countries: &str) -> Gazetteer {
        let mut cities = Vec::with_capacity(171_000);
        let mut regions: Vec<Box<str>> = vec!["".into()];
        let mut region_ids: HashMap<&str, u32> = HashMap::new();
        let mut names: Vec<(String, u32)> = Vec::with_capacity(300_000);
        for line in places.lines() {
            let mut f = line.split('\t');
            let (Some(lat), Some(lon), Some(pop), Some(cc), Some(region), Some(name)) =
                (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let (Ok(lat), Ok(lon), Ok(population)) = (lat.parse(), lon.parse(), pop.parse()) else {
                continue;
            };
            let cc = cc.as_bytes();
            if cc.len() != 2 {
                continue;
            }
            let region = if region.is_empty() {
                0
            } else {
                *region_ids.entry(region).or_insert_with(|| {
                    regions.push(region.into());
                    (regions.len() - 1) as u32
                })
            };
            let i = cities.len() as u32;
            names.push((fold(name), i));
            for alt in f.next().unwrap_or("").split('|').filter(|a| !a.is_empty()) {
                names.push((fold(alt), i));
            }
            cities.push(City {
                lat,
                lon,
                population,
                country: [cc[0], cc[1]],
                region,
                name: name.into(),
            });
        }
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::with_capacity(names.len());
        for (n, i) in names {
            let v = by_name.entry(n).or_default();
            if !v.contains(&i) {
                v.push(i);
            }
        }
        for v in by_name.values_mut() {
            v.sort_by_key(|&i| std::cmp::Reverse(cities[i as usize].population));
        }
        let countries: HashMap<String, String> = countries
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect();
        let country_by_name = countries
            .iter()
            .map(|(c, n)| (fold(n), c.clone()))
            .collect();
        // A region's weight is the people of its places. (Keys are packed
        // into one integer: rustc 1.95 at opt-level 1 was seen to corrupt
        // `([u8; 2], u32)` tuple keys here.)
        let mut weight: HashMap<u64, u64> = HashMap::new();
        for c in cities.iter().filter(|c| c.region != 0) {
            *weight.entry(region_key(c.country, c.region)).or_default() += c.population as u64;
        }
        let mut ranked: Vec<(u64, u64)> = weight.iter().map(|(&k, &w)| (k, w)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut region_by_name: HashMap<String, Vec<u64>> = HashMap::new();
        for (key, _) in ranked {
            let (_, r) = unpack_region(key);
            region_by_name
                .entry(fold(&regions[r as usize]))
                .or_default()
                .push(key);
        }
        Gazetteer {
            cities,
            regions,
            countries,
            by_name,
            country_by_name,
            region_by_name,
            region_weight: weight,
        }
    }

    /// How many places it knows.
    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }

    fn place(&self, c: &City) -> Place {
        Place {
            city: c.name.to_string(),
            region: self.regions[c.region as usize].to_string(),
            country: String::from_utf8_lossy(&c.country).into_owned(),
        }
    }

    /// The place nearest to `gps`, if one lies within [`MAX_KM`].
    pub fn nearest(&self, gps: &Gps) -> Option<Place> {
        // Only a band of latitudes can hold a place within MAX_KM.
        let band = (MAX_KM / 110.0) as f32;
        let lat = gps.lat as f32;
        let lo = self.cities.partition_point(|c| c.lat < lat - band);
        let hi = self.cities.partition_point(|c| c.lat <= lat + band);
        // …and, within it, a window of longitudes (wider towards the poles,
        // wrapping at the antimeridian), before any trigonometry.
        let cos = (gps.lat.abs().min(89.0)).to_radians().cos();
        let window = (MAX_KM / (110.0 * cos)) as f32;
        let lon = gps.lon as f32;
        self.cities[lo..hi]
            .iter()
            .filter(|c| {
                let d = (c.lon - lon).abs();
                d.min(360.0 - d) <= window
            })
            .map(|c| {
                let d = gps.km_to(&Gps {
                    lat: c.lat as f64,
                    lon: c.lon as f64,
                });
                (d, c)
            })
            .filter(|(d, _)| *d <= MAX_KM)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| self.place(c))
    }

    fn country_of(&self, s: &str) -> Option<String> {
        let f = fold(s);
        if let Some(cc) = self.country_by_name.get(&f) {
            return Some(cc.clone());
        }
        let up = s.trim().to_ascii_uppercase();
        (up.len() == 2 && self.countries.contains_key(&up)).then_some(up)
    }

    fn city_label(&self, c: &City, km: f64) -> String {
        let p = self.place(c);
        let mut parts = vec![p.city.clone()];
        // The region tells same-named places of one country apart.
        if matches!(p.country.as_str(), "US" | "CA" | "AU") && !p.region.is_empty() {
            parts.push(p.region.clone());
        }
        parts.push(p.country_name().to_string());
        format!("{} (within {km:.0} km)", parts.join(", "))
    }

    /// What a typed place name means, or `None` when the gazetteer does not
    /// know it. `min_population` keeps small places out (the query grammar
    /// asks for a large one, so "in nice light" is not Nice unless typed as a
    /// place).
    pub fn resolve(&self, name: &str, min_population: u32) -> Option<Found> {
        let (name, qualifier) = match name.split_once(',') {
            Some((n, q)) if !q.trim().is_empty() => (n.trim(), Some(q.trim())),
            _ => (name.trim().trim_end_matches(','), None),
        };
        if name.is_empty() {
            return None;
        }
        let key = fold(name);
        // The qualifier: a country (name or code) or a region.
        let want_cc = qualifier.and_then(|q| self.country_of(q));
        let want_region = qualifier.filter(|_| want_cc.is_none()).map(fold);
        if qualifier.is_some() && want_cc.is_none() {
            // "Paris, Texas": a region must exist by that name.
            let q = want_region.as_deref().unwrap_or_default();
            self.region_by_name.get(q)?;
        }
        let fits = |c: &City| {
            want_cc
                .as_deref()
                .is_none_or(|cc| cc.as_bytes() == c.country)
                && want_region
                    .as_deref()
                    .is_none_or(|r| fold(&self.regions[c.region as usize]) == r)
        };
        if qualifier.is_none() {
            if let Some(cc) = self.country_by_name.get(&key) {
                return Some(Found {
                    place: Where::Country(cc.clone()),
                    label: self.countries[cc].clone(),
                });
            }
        }
        let cities: Vec<&City> = self
            .by_name
            .get(&key)
            .map(|ids| {
                ids.iter()
                    .map(|&i| &self.cities[i as usize])
                    .filter(|c| fits(c))
                    .collect()
            })
            .unwrap_or_default();
        let city = |c: &City| {
            let km = default_km(c.population);
            Found {
                place: Where::Near {
                    lat: c.lat as f64,
                    lon: c.lon as f64,
                    km,
                },
                label: self.city_label(c, km),
            }
        };
        // A qualified name is explicit: any population will do.
        let min_population = if qualifier.is_some() {
            0
        } else {
            min_population
        };
        // A big place beats a region of the same name, by its own name or by
        // another name when it holds a tenth of the region's people ("New
        // York" is the city; "Florida" is the state, not Floridablanca,
        // Colombia, which some call Florida).
        let region_people = self
            .region_by_name
            .get(&key)
            .and_then(|rs| rs.first())
            .map_or(0, |k| self.region_weight[k]);
        if let Some(c) = cities.iter().find(|c| {
            c.population >= BIG
                && (fold(&c.name) == key || c.population as u64 * 10 >= region_people)
        }) {
            return (c.population >= min_population).then(|| city(c));
        }
        // "Lisbon, Iowa" is a town, never the region of Lisbon.
        let region = want_region
            .is_none()
            .then_some(())
            .and_then(|_| self.region_by_name.get(&key))
            .and_then(|rs| {
                rs.iter()
                    .map(|&k| unpack_region(k))
                    .find(|(cc, _)| want_cc.as_deref().is_none_or(|w| w.as_bytes() == cc))
            });
        if let Some((cc, r)) = region {
            let cc = String::from_utf8_lossy(&cc).into_owned();
            let country = self.countries.get(&cc).cloned().unwrap_or(cc.clone());
            let region = self.regions[r as usize].to_string();
            return Some(Found {
                label: format!("{region}, {country}"),
                place: Where::Region {
                    country: cc,
                    region,
                },
            });
        }
        cities
            .first()
            .filter(|c| c.population >= min_population)
            .map(|c| city(c))
    }
}

/// A place typed as coordinates ("38.72,-9.14") or a name, with an optional
/// radius in kilometres replacing the name's own: what `--near` takes.
pub fn near(spec: &str, km: Option<f64>) -> crate::error::Result<Found> {
    use crate::error::Error;
    if let Some(k) = km {
        if !(k.is_finite() && k > 0.0 && k <= 20_000.0) {
            return Err(Error::InvalidArgument(format!(
                "radius {k} km: expected a distance between 0 and 20,000 km"
            )));
        }
    }
    let coords = spec.split_once(',').and_then(|(a, b)| {
        let (a, b) = (a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?);
        Some((a, b))
    });
    if let Some((lat, lon)) = coords {
        let gps = Gps::new(lat, lon).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{spec:?}: latitude must be within ±90 and longitude within ±180"
            ))
        })?;
        let km = km.unwrap_or(10.0);
        return Ok(Found {
            place: Where::Near {
                lat: gps.lat,
                lon: gps.lon,
                km,
            },
            label: format!("{lat:.4}, {lon:.4} (within {km:.0} km)"),
        });
    }
    let found = gazetteer().resolve(spec, 0).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "no place called {spec:?} is known (towns of 1,000 people or more, regions and \
             countries; \"Paris, Texas\" or coordinates such as 38.72,-9.14 also work)"
        ))
    })?;
    Ok(match (found.place, km) {
        (Where::Near { lat, lon, .. }, Some(km)) => {
            let name = found.label.split(" (within").next().unwrap_or_default();
            Found {
                label: format!("{name} (within {km:.0} km)"),
                place: Where::Near { lat, lon, km },
            }
        }
        (place, _) => Found {
            place,
            label: found.label,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near_of(name: &str) -> (f64, f64, f64) {
        match gazetteer().resolve(name, 0).unwrap().place {
            Where::Near { lat, lon, km } => (lat, lon, km),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn names_resolve_to_the_place_people_mean() {
        let (lat, lon, km) = near_of("Lisbon");
        assert!(
            (lat - 38.725).abs() < 0.01 && (lon + 9.15).abs() < 0.01,
            "{lat},{lon}"
        );
        assert!((15.0..25.0).contains(&km), "{km}");
        // Other languages, any case.
        assert_eq!(near_of("lisboa"), near_of("Lisbon"));
        assert_eq!(near_of("München"), near_of("Munich"));
        // The most populous of a name, unless qualified.
        let (lat, lon, _) = near_of("Paris");
        assert!((lat - 48.85).abs() < 0.01 && (lon - 2.35).abs() < 0.01);
        let (lat, _, _) = near_of("Paris, Texas");
        assert!((lat - 33.66).abs() < 0.01, "{lat}");
        let (lat, _, _) = near_of("London, Canada");
        assert!((lat - 42.98).abs() < 0.01, "{lat}");
        let (lat, _, _) = near_of("london, ca");
        assert!((lat - 42.98).abs() < 0.01, "{lat}");
        let g = gazetteer();
        assert_eq!(
            g.resolve("Portugal", 0).unwrap().place,
            Where::Country("PT".into())
        );
        assert_eq!(
            g.resolve("California", 0).unwrap().place,
            Where::Region {
                country: "US".into(),
                region: "California".into()
            }
        );
        // A region beats a big place known by its name only as another name;
        // a big place that holds a fair share of the region's people does not.
        assert_eq!(
            g.resolve("Florida", 50_000).unwrap().place,
            Where::Region {
                country: "US".into(),
                region: "Florida".into()
            }
        );
        let (lat, _, _) = near_of("New York");
        assert!((lat - 40.71).abs() < 0.01, "{lat}");
        assert!(g.resolve("Xyzzyville", 0).is_none());
        assert!(g.resolve("Paris, Narnia", 0).is_none());
        // A small place only when small places are asked for, or named with
        // a qualifier.
        assert!(g.resolve("Cascais", 0).is_some());
        assert!(g.resolve("Cascais", 50_000).is_none());
        assert!(g.resolve("Lisbon, Iowa", 50_000).is_some());
    }

    #[test]
    fn positions_give_the_nearest_place_region_and_country() {
        let g = gazetteer();
        assert!(g.len() > 150_000);
        let p = g.nearest(&Gps::new(38.7251, -9.1498).unwrap()).unwrap();
        assert_eq!((p.city.as_str(), p.country.as_str()), ("Lisbon", "PT"));
        assert_eq!(p.label(), "Lisbon, Portugal");
        let p = g.nearest(&Gps::new(48.8566, 2.3522).unwrap()).unwrap();
        assert_eq!(p.country, "FR");
        assert_eq!(p.region, "Ile-de-France");
        assert!(p.words().contains("France"));
        // Mid-Atlantic: nothing within 50 km.
        assert!(g.nearest(&Gps::new(35.0, -40.0).unwrap()).is_none());
        assert_eq!(
            g.nearest(&Gps::new(-18.05, 179.4).unwrap()).unwrap().city,
            "Levuka"
        );
        // Distances wrap around the antimeridian.
        let (w, e) = (
            Gps::new(10.0, 179.9).unwrap(),
            Gps::new(10.0, -179.9).unwrap(),
        );
        assert!((w.km_to(&e) - 21.9).abs() < 0.5, "{}", w.km_to(&e));
    }

    #[test]
    fn distances_and_bad_positions() {
        let lisbon = Gps::new(38.7223, -9.1393).unwrap();
        let madrid = Gps::new(40.4168, -3.7038).unwrap();
        let d = lisbon.km_to(&madrid);
        assert!((d - 502.0).abs() < 5.0, "{d}");
        assert!(Gps::new(0.0, 0.0).is_none());
        assert!(Gps::new(91.0, 0.0).is_none());
        assert!(Gps::new(f64::NAN, 1.0).is_none());
        let p = Place {
            city: "x".into(),
            region: "".into(),
            country: "PT".into(),
        };
        let inside = Where::Near {
            lat: 38.72,
            lon: -9.14,
            km: 20.0,
        };
        assert!(inside.contains(Some(&lisbon), Some(&p)));
        assert!(!inside.contains(Some(&madrid), Some(&p)));
        assert!(!inside.contains(None, Some(&p)));
        assert!(Where::Country("pt".into()).contains(None, Some(&p)));
        assert!(!Where::Country("ES".into()).contains(None, Some(&p)));
    }

    #[test]
    fn near_takes_coordinates_names_and_radii() {
        let f = near("38.72, -9.14", Some(5.0)).unwrap();
        assert_eq!(
            f.place,
            Where::Near {
                lat: 38.72,
                lon: -9.14,
                km: 5.0
            }
        );
        let f = near("Lisbon", Some(3.0)).unwrap();
        assert!(
            f.label.starts_with("Lisbon, Portugal (within 3 km)"),
            "{}",
            f.label
        );
        assert!(near("Lisbon", Some(-1.0)).is_err());
        assert!(near("95,10", None).is_err());
        let e = near("Xyzzyville", None).unwrap_err().to_string();
        assert!(e.contains("Xyzzyville"), "{e}");
    }
}
