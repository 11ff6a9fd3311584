//! Tesseract 5 through its C API (`capi.h`, stable across 4.x and 5.x), loaded
//! at run time with libloading. One engine per thread and language set: an
//! engine is not safe to share, and starting one reads the language's model
//! (~0.1 s), so each decoding thread keeps its own.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use image::GrayImage;

/// What to install for Tesseract.
pub const TESSERACT_INSTALL: &str = "install Tesseract 5 (Debian/Ubuntu: apt install libtesseract5 tesseract-ocr-eng; Fedora: dnf install tesseract tesseract-langpack-eng; macOS: brew install tesseract)";

type Api = c_void;
type ResultIt = c_void;
type PageIt = c_void;

/// `TessPageSegMode::PSM_AUTO`: layout analysis without orientation detection.
const PSM_AUTO: c_int = 3;
/// `TessPageIteratorLevel`.
const RIL_TEXTLINE: c_int = 2;
const RIL_WORD: c_int = 3;

struct Lib {
    _lib: libloading::Library,
    version: unsafe extern "C" fn() -> *const c_char,
    create: unsafe extern "C" fn() -> *mut Api,
    delete: unsafe extern "C" fn(*mut Api),
    init3: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    set_variable: unsafe extern "C" fn(*mut Api, *const c_char, *const c_char) -> c_int,
    set_psm: unsafe extern "C" fn(*mut Api, c_int),
    set_image: unsafe extern "C" fn(*mut Api, *const u8, c_int, c_int, c_int, c_int),
    set_resolution: unsafe extern "C" fn(*mut Api, c_int),
    recognize: unsafe extern "C" fn(*mut Api, *mut c_void) -> c_int,
    get_iterator: unsafe extern "C" fn(*mut Api) -> *mut ResultIt,
    it_page: unsafe extern "C" fn(*mut ResultIt) -> *mut PageIt,
    it_text: unsafe extern "C" fn(*const ResultIt, c_int) -> *mut c_char,
    it_confidence: unsafe extern "C" fn(*const ResultIt, c_int) -> f32,
    it_next: unsafe extern "C" fn(*mut ResultIt, c_int) -> c_int,
    it_delete: unsafe extern "C" fn(*mut ResultIt),
    page_at_start_of: unsafe extern "C" fn(*const PageIt, c_int) -> c_int,
    delete_text: unsafe extern "C" fn(*const c_char),
    clear: unsafe extern "C" fn(*mut Api),
    end: unsafe extern "C" fn(*mut Api),
}

// SAFETY: plain C function pointers; each engine (`Api`) stays on its thread.
unsafe impl Send for Lib {}
unsafe impl Sync for Lib {}

impl Lib {
    fn load() -> Result<Self, String> {
        let names: Vec<String> = match std::env::var("SCRY_LIBTESSERACT") {
            Ok(p) if !p.is_empty() => vec![p],
            _ => [
                "libtesseract.so.5",
                "libtesseract.so",
                "libtesseract.5.dylib",
                "libtesseract.dylib",
            ]
            .map(String::from)
            .to_vec(),
        };
        // Tesseract built with OpenMP (Debian's) reads each picture with a team
        // of 4 threads (a `num_threads` clause, which only OpenMP's thread
        // limit caps), 7× slower on 2 cores where scry already reads one
        // picture per core. libgomp reads the limit from the environment when
        // it is loaded, which is now. The `scry` command sets it in `main`
        // before any thread starts; this covers other programs using the
        // engine (tests), where setting the environment while other threads
        // run is tolerated.
        if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
            std::env::set_var("OMP_THREAD_LIMIT", "1");
        }
        let mut last = String::new();
        for name in &names {
            // SAFETY: loading libtesseract runs its static initialisers only.
            match unsafe { libloading::Library::new(name) } {
                Ok(lib) => return Self::resolve(lib),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("Tesseract not found ({last})"))
    }

    fn resolve(lib: libloading::Library) -> Result<Self, String> {
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the type is the one of Tesseract's capi.h for this name.
                *unsafe { lib.get($name) }.map_err(|e| format!("Tesseract is too old: {e}"))?
            };
        }
        Ok(Lib {
            version: sym!(b"TessVersion\0"),
            create: sym!(b"TessBaseAPICreate\0"),
            delete: sym!(b"TessBaseAPIDelete\0"),
            init3: sym!(b"TessBaseAPIInit3\0"),
            set_variable: sym!(b"TessBaseAPISetVariable\0"),
            set_psm: sym!(b"TessBaseAPISetPageSegMode\0"),
            set_image: sym!(b"TessBaseAPISetImage\0"),
            set_resolution: sym!(b"TessBaseAPISetSourceResolution\0"),
            recognize: sym!(b"TessBaseAPIRecognize\0"),
            get_iterator: sym!(b"TessBaseAPIGetIterator\0"),
            it_page: sym!(b"TessResultIteratorGetPageIterator\0"),
            it_text: sym!(b"TessResultIteratorGetUTF8Text\0"),
            it_confidence: sym!(b"TessResultIteratorConfidence\0"),
            it_next: sym!(b"TessResultIteratorNext\0"),
            it_delete: sym!(b"TessResultIteratorDelete\0"),
            page_at_start_of: sym!(b"TessPageIteratorIsAtBeginningOf\0"),
            delete_text: sym!(b"TessDeleteText\0"),
            clear: sym!(b"TessBaseAPIClear\0"),
            end: sym!(b"TessBaseAPIEnd\0"),
            _lib: lib,
        })
    }
}

fn library() -> Result<&'static Lib, String> {
    static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();
    if crate::decode::system::hidden("tesseract") {
        return Err("Tesseract hidden by SCRY_HIDE_CODECS".into());
    }
    LIB.get_or_init(Lib::load).as_ref().map_err(Clone::clone)
}

/// Whether Tesseract can be used here; the error says what to install.
pub fn available() -> Result<(), String> {
    library()
        .map(|_| ())
        .map_err(|e| format!("{e}: {TESSERACT_INSTALL}"))
}

/// Tesseract's version ("5.3.0"), when it is there.
pub fn version() -> Option<String> {
    let lib = library().ok()?;
    // SAFETY: TessVersion returns a static NUL-terminated string.
    Some(
        unsafe { CStr::from_ptr((lib.version)()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Starts an engine for `languages` (and drops it): whether Tesseract and
/// each language's data are here; the error says what to install.
pub fn check(languages: &str) -> Result<(), String> {
    let valid = !languages.is_empty()
        && languages
            .split('+')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !valid {
        return Err(format!(
            "--ocr-lang {languages:?}: give Tesseract's language names joined by +, as in eng or eng+deu"
        ));
    }
    Engine::start(languages).map(drop)
}

/// One engine, started for a set of languages.
struct Engine {
    lib: &'static Lib,
    api: *mut Api,
    languages: String,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: `api` came from TessBaseAPICreate and is freed once.
        unsafe {
            (self.lib.end)(self.api);
            (self.lib.delete)(self.api);
        }
    }
}

impl Engine {
    fn start(languages: &str) -> Result<Self, String> {
        let lib = library().map_err(|e| format!("{e}: {TESSERACT_INSTALL}"))?;
        // `debug_file` is one of Tesseract's global parameters, written while
        // an engine starts: engines start one at a time.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = STARTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let langs =
            CString::new(languages).map_err(|_| format!("bad OCR language list {languages:?}"))?;
        // SAFETY: create/init/set_variable take a valid engine and C strings.
        unsafe {
            let api = (lib.create)();
            if api.is_null() {
                return Err("Tesseract could not start".into());
            }
            let engine = Engine {
                lib,
                api,
                languages: languages.to_string(),
            };
            // Tesseract's own diagnostics ("Estimating resolution…") stay quiet.
            let quiet = |k: &[u8], v: &[u8]| {
                (lib.set_variable)(api, k.as_ptr().cast(), v.as_ptr().cast());
            };
            quiet(b"debug_file\0", b"/dev/null\0");
            if (lib.init3)(api, std::ptr::null(), langs.as_ptr()) != 0 {
                let missing = languages
                    .split('+')
                    .map(|l| format!("tesseract-ocr-{}", l.replace('_', "-").to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(format!(
                    "Tesseract has no data for the OCR language {languages:?} (Debian/Ubuntu: apt install {missing}; or set TESSDATA_PREFIX to the folder holding {languages}.traineddata)"
                ));
            }
            quiet(b"debug_file\0", b"/dev/null\0");
            (lib.set_psm)(api, PSM_AUTO);
            Ok(engine)
        }
    }

    /// The lines of words read with at least `min_confidence`.
    fn read(&mut self, g: &GrayImage, min_confidence: f32) -> Result<Vec<String>, String> {
        let lib = self.lib;
        let mut lines: Vec<String> = Vec::new();
        // SAFETY: the image buffer outlives the recognition (Tesseract copies it
        // in SetImage); every string Tesseract returns is freed with
        // TessDeleteText, the iterator with its delete.
        unsafe {
            (lib.set_image)(
                self.api,
                g.as_raw().as_ptr(),
                g.width() as c_int,
                g.height() as c_int,
                1,
                g.width() as c_int,
            );
            // Screen and phone text is not at a known print resolution; 300
            // keeps Tesseract from guessing (and warning) for each image.
            (lib.set_resolution)(self.api, 300);
            if (lib.recognize)(self.api, std::ptr::null_mut()) != 0 {
                (lib.clear)(self.api);
                return Err("Tesseract could not read the image".into());
            }
            let it = (lib.get_iterator)(self.api);
            if !it.is_null() {
                let page = (lib.it_page)(it);
                let mut line = String::new();
                loop {
                    if (lib.page_at_start_of)(page, RIL_TEXTLINE) != 0 && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                    }
                    let text = (lib.it_text)(it, RIL_WORD);
                    if !text.is_null() {
                        let word = CStr::from_ptr(text).to_string_lossy().trim().to_string();
                        (lib.delete_text)(text);
                        let confidence = (lib.it_confidence)(it, RIL_WORD);
                        if confidence >= min_confidence && word.chars().any(char::is_alphanumeric) {
                            if !line.is_empty() {
                                line.push(' ');
                            }
                            line.push_str(&word);
                        }
                    }
                    if (lib.it_next)(it, RIL_WORD) == 0 {
                        break;
                    }
                }
                if !line.is_empty() {
                    lines.push(line);
                }
                (lib.it_delete)(it);
            }
            (lib.clear)(self.api);
        }
        Ok(lines)
    }
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Reads `g` with this thread's engine for `languages` (started on first use).
pub(super) fn recognise(
    g: &GrayImage,
    languages: &str,
    min_confidence: f32,
) -> Result<Vec<String>, String> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|e| e.languages != languages) {
            *slot = None;
            *slot = Some(Engine::start(languages)?);
        }
        slot.as_mut().expect("just started").read(g, min_confidence)
    })
}
